"""Django settings for Tessera.

Configuration comes from the environment only (``TESSERA_*``); see README.md.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from tessera.core.keyfiles import read_or_create_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TESSERA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The secret key from the environment, else one generated once into var/."""
    given = os.environ.get("TESSERA_SECRET_KEY")
    if given:
        return given
    # Created with mode 0600 from its first byte, atomically (tessera/core/keyfiles.py).
    return read_or_create_secret(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


SECRET_KEY = _secret_key()
DEBUG = _env_bool("TESSERA_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("TESSERA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TESSERA_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    # Django Ninja's own templates and static files: /api/docs serves Swagger UI from this
    # site, not from a CDN (works offline and where the CDN is unreachable).
    "ninja",
    "tessera.core",
    "tessera.accounts",
    "tessera.venues",
    "tessera.catalog",
    "tessera.inventory",
    "tessera.orders",
    "tessera.identities",
    "tessera.limits",
    "tessera.tickets",
    "tessera.payments",
    "tessera.sandbox",
    "tessera.sale",
    "tessera.waitingroom",
    "tessera.checkin",
    "tessera.aftersales",
    "tessera.transfers",
    "tessera.resale",
    "tessera.waitlist",
    "tessera.passes",
    "tessera.partners",
    "tessera.reconciliation",
    "tessera.partnerapi",
    "tessera.allocations",
    "tessera.webhooks",
    "tessera.groupsales",
    "tessera.settlement",
    "tessera.apikeys",
    "tessera.storefront",
    "tessera.privacy",
    "tessera.support",
    "tessera.notifications",
    "tessera.ratelimit",
    "tessera.risk",
    "tessera.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tessera.core.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "tessera.core.inputguard.InputGuardMiddleware",
    # counts the partner API's calls per key (tessera/apikeys/calls.py; memory only)
    "tessera.apikeys.calls.CallLogMiddleware",
    "tessera.core.device.DeviceCookieMiddleware",
    "tessera.ratelimit.limits.RateLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tessera.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tessera.risk.middleware.RiskMiddleware",
]

ROOT_URLCONF = "tessera.urls"
WSGI_APPLICATION = "tessera.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tessera" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tessera.core.security.csp_nonce",
                "tessera.support.context.support",
                "tessera.notifications.views.unread_count",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = os.environ.get("TESSERA_DATABASE_URL", f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
# PostgreSQL: a lock wait (row lock, advisory lock, DDL) gives up after this many milliseconds
# with an error instead of holding a request or a task for ever. 5 s is far above any wait a
# purchase sees (its transactions take milliseconds) and short enough that a stuck lock shows
# up as errors rather than as a server whose threads all hang. 0 waits for ever. (SQLite's
# counterpart is busy_timeout below.)
DB_LOCK_TIMEOUT_MS = int(os.environ.get("TESSERA_DB_LOCK_TIMEOUT_MS", "5000"))
if DB_LOCK_TIMEOUT_MS < 0:
    raise ValueError("TESSERA_DB_LOCK_TIMEOUT_MS must be 0 (no limit) or more")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # WAL lets readers run while one writer writes; IMMEDIATE takes the write
        # lock at BEGIN so two writers never deadlock upgrading a read lock.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _db["TEST"] = {"NAME": os.environ.get("TESSERA_TEST_SQLITE_NAME") or None}
elif _db["ENGINE"] in ("django.db.backends.postgresql",):
    _db["CONN_MAX_AGE"] = int(os.environ.get("TESSERA_DB_CONN_MAX_AGE", "60"))
    # No SELECT 1 before every request: tessera.core.db checks a persistent connection
    # only after an error or more than a second of idleness.
    _db["CONN_HEALTH_CHECKS"] = False
    _options = _db.setdefault("OPTIONS", {})
    _options["options"] = " ".join(
        filter(None, [_options.get("options", ""), f"-c lock_timeout={DB_LOCK_TIMEOUT_MS}"])
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and tasks --------------------------------------------------------
REDIS_URL = os.environ.get("TESSERA_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tessera",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tessera",
        }
    }

# --- task workers (docs/operations.md) -----------------------------------------------------
# Tasks go through RQ (django-tasks-rq) when Redis is configured, else through the database
# (django-tasks-db); TESSERA_TASK_BACKEND=database|rq chooses explicitly. Both backends are
# Tessera's subclasses (tessera/core/taskbackends.py: the request id travels with a task).
TASK_BACKEND = os.environ.get("TESSERA_TASK_BACKEND") or ("rq" if REDIS_URL else "database")
if TASK_BACKEND not in ("database", "rq") or (TASK_BACKEND == "rq" and not REDIS_URL):
    raise ValueError("TESSERA_TASK_BACKEND must be 'database', or 'rq' with TESSERA_REDIS_URL set")
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 300}}
RQ_SHOW_ADMIN_LINK = False  # its dashboard would bypass the back office's permissions
if TASK_BACKEND == "rq":
    TASKS = {"default": {"BACKEND": "tessera.core.taskbackends.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "tessera.core.taskbackends.DatabaseBackend"}}
# A worker writes its heartbeat every WORKER_HEARTBEAT_SECONDS; the tasks claimed by a worker
# whose heartbeat is older than TASK_LEASE_SECONDS are put back in the queue (tasks are
# idempotent), up to TASK_MAX_ATTEMPTS claims in all (tessera/core/workers.py).
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("TESSERA_WORKER_HEARTBEAT_SECONDS", "5"))
TASK_LEASE_SECONDS = float(os.environ.get("TESSERA_TASK_LEASE_SECONDS", "60"))
TASK_MAX_ATTEMPTS = 5
# How the sandbox gateway delivers its callbacks: "pool" (background threads of each web
# process, retried) or "inline" (at once, in the request that decided; tests).
SANDBOX_DELIVERY = "pool"
# Tidy-up tasks `manage.py serve` hands to the worker every minute (correctness never
# depends on them; see tessera/inventory/tasks.py).
PERIODIC_TASKS = [
    "tessera.inventory.tasks.tidy_expired_holds",
    "tessera.orders.tasks.expire_overdue_orders",
    "tessera.waitingroom.tasks.advance_waiting_rooms",
    "tessera.sale.tasks.reconcile_payments",
    "tessera.payments.tasks.retry_refunds",
    "tessera.payments.tasks.daily_ledger_check",
    "tessera.core.tasks.requeue_abandoned_tasks",
    "tessera.transfers.tasks.expire_transfers",
    "tessera.resale.tasks.withdraw_stale_listings",
    "tessera.notifications.tasks.derive_messages",
    "tessera.waitlist.tasks.settle_waitlist_offers",
    "tessera.groupsales.tasks.settle_group_sales",
    "tessera.risk.tasks.find_anomalies",
    "tessera.risk.tasks.purge_used_proofs",
    "tessera.reconciliation.tasks.reconcile_yesterday",
    "tessera.allocations.tasks.release_due_allocations",
    "tessera.webhooks.tasks.run_webhooks",
    "tessera.settlement.tasks.generate_due_statements",
    "tessera.apikeys.tasks.tidy_key_rows",
]

# Orders a task of a session change deals with before handing the rest to the next task
# (tessera/aftersales/changes.py); the notifications' sender told after each batch, if any.
SESSION_CHANGE_BATCH_ORDERS = int(os.environ.get("TESSERA_SESSION_CHANGE_BATCH_ORDERS", "200"))
SESSION_CHANGE_NOTIFIER: str | None = "tessera.notifications.producers.tell_session_change"

# Apps that deal with part of a changed session themselves (tessera/aftersales/changes.py):
# a pass order covers several sessions, so the passes refund or re-date its entry there.
SESSION_CHANGE_PARTS: list[str] = ["tessera.passes.changes"]

# Checks a session must pass before it is cancelled (tessera/catalog/services.py).
SESSION_CANCEL_GUARDS: list[str] = [
    "tessera.aftersales.services.refuse_sessions_with_paid_orders",
    "tessera.passes.guards.refuse_sessions_with_passes",
]

# Called when a payment completes an order, in its transaction (tessera/payments/services.py).
ORDER_PAID_HOOKS: list[str] = [
    "tessera.aftersales.exchanges.complete_paid_exchange",
    "tessera.resale.services.complete_resale",
    "tessera.limits.services.refuse_over_payer_limit",
    "tessera.passes.services.activate_paid_pass",
]
# Apps that hand places already sold over to the lines of an order without a hold, when it
# is paid (tessera/orders/services.py mark_order_paid): the official resale only.
SOLD_PLACE_HANDOVERS: list[str] = ["tessera.resale.services.hand_over_resold_place"]
# Orders without a hold of their own (a pass: one hold per covered session) whose places
# are held, not sold: sold by these, called by ``orders.mark_order_paid`` as (order, lines,
# now); the first that returns True sold them.
ORDER_PLACE_SELLERS: list[str] = ["tessera.passes.services.sell_pass_places"]
# The public keys of the passes covering a session, for the gates (tessera/passes).
CHECKIN_TRUSTED_ISSUERS: str = "tessera.passes.selectors.pass_keys_for_session"
# Checks a ticket's transfer must pass when it is sent and when it is accepted
# (tessera/transfers/guards.py): real-name sessions add the recipient's identity check here.
TRANSFER_GUARDS: list[str] = [
    "tessera.resale.guards.refuse_listed_transfer",
    "tessera.passes.guards.refuse_pass_transfers",
]
# Checks a ticket must pass before its buyer gives it back by a refund or an exchange
# (tessera/aftersales/services.py): not offered to or held by someone else.
TICKET_RETURN_GUARDS: list[str] = [
    "tessera.transfers.guards.refuse_tickets_in_transfer",
    "tessera.resale.guards.refuse_listed_tickets",
    "tessera.passes.guards.refuse_pass_tickets",
    "tessera.groupsales.guards.refuse_partial_box_returns",
]

# Checks every hold must pass before places are held (tessera/inventory/admission.py).
HOLD_GUARDS: list[str] = [
    # the waiting list's guard wraps the waiting room's: a waiting-list offer's hold passes
    "tessera.waitlist.guards.require_admission_or_offer",
    # sessions with a VerificationRequirement: a verified phone or email first
    "tessera.ratelimit.verification.require_verified_contact",
    # a blocked account holds nothing (risk control's review)
    "tessera.risk.guards.refuse_blocked_accounts",
]
# Called with (session_id, now) inside the transaction that freed places of a session
# (tessera/inventory/services.py): the waiting list offers them to its fans first.
# Boxes sold whole first (tessera/groupsales): their places are set aside again before
# anyone else sees them; then the waiting list offers them to its fans.
PLACES_RETURNED_HOOKS: list[str] = [
    "tessera.groupsales.services.keep_boxes_whole",
    "tessera.waitlist.services.offer_returned_places",
]
# The providers' fee rates agreed in the merchant contracts: the reconciliation checks each
# charge's fee in the providers' statements against them (tessera/reconciliation).
RECONCILIATION_FEE_RATES = {"alipay": "0.006", "wechat": "0.006", "sandbox": "0"}

# The partner console's sections: (url name, label), added by each partner app.
PARTNER_CONSOLE_LINKS: list[tuple[str, str]] = []
PARTNER_CONSOLE_LINKS += [("allocations:console", _("Allocations"))]
PARTNER_CONSOLE_LINKS += [("webhooks:console", _("Webhooks"))]
PARTNER_CONSOLE_LINKS += [("groupsales:manage", _("Group sales"))]
# Webhooks (tessera/webhooks): http:// to localhost only when developing; a short timeout.
WEBHOOKS_ALLOW_LOCALHOST = _env_bool("TESSERA_WEBHOOKS_ALLOW_LOCALHOST", DEBUG)
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("TESSERA_WEBHOOKS_TIMEOUT_SECONDS", "5"))
PARTNER_CONSOLE_LINKS += [("settlement:statements", _("Statements"))]
PARTNER_CONSOLE_LINKS += [("partners:members", _("Members"))]
PARTNER_CONSOLE_LINKS += [
    ("apikeys:keys", _("API keys")),
    ("apikeys:calls", _("API call log")),
]
# Partner API keys (tessera/apikeys): sale.channels.authenticate calls the guard on every
# authenticated call (the key's own requests per minute) and hands each call to the
# recorder (counted in memory, written every APIKEYS_FLUSH_SECONDS by a thread).
CHANNEL_KEY_GUARD = "tessera.apikeys.calls.admit"
CHANNEL_CALL_RECORDER = "tessera.apikeys.calls.record"
APIKEYS_FLUSH_SECONDS = float(os.environ.get("TESSERA_APIKEYS_FLUSH_SECONDS", "5"))

# How long a waiting-list offer holds its places for the fan (tessera/waitlist).
WAITLIST_OFFER_MINUTES = int(os.environ.get("TESSERA_WAITLIST_OFFER_MINUTES", "15"))
# Checks over the WSGI environ that joins and holds answered ahead of Django's middleware
# (the sale's fast lane) pass; Django's own requests pass tessera.risk.middleware.
REQUEST_GUARDS: list[str] = ["tessera.risk.gate.fast_lane_guard"]
# Binds one attendee identity to each line of a real-name session's order, inside the
# order's transaction (tessera.identities).
REAL_NAME_BINDER = "tessera.identities.services.bind_identities"
# Whether a late payment (its hold ran out) may still sell a real-name order's places.
REAL_NAME_LATE_SALE_CHECK = "tessera.identities.services.late_sale_within_limits"

# --- auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Signing out shows registration/logged_out.html: the person is told that every device of
# theirs is signed out (accounts.receivers).
LOGOUT_REDIRECT_URL = None

# --- i18n and time ------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "tessera" / "locale"]
USE_I18N = True
USE_TZ = True
# Storage is UTC; this is only the zone used when no venue zone applies.
TIME_ZONE = os.environ.get("TESSERA_TIME_ZONE", "Asia/Shanghai")
DEFAULT_CURRENCY = "CNY"

# --- static and media -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "tessera" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("TESSERA_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# npm packages (package.json): the gate scanner's camera decoder is served from here.
TESSERA_NODE_MODULES = Path(os.environ.get("TESSERA_NODE_MODULES", BASE_DIR / "node_modules"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- sessions ---------------------------------------------------------------------------
# The session lives in a signed cookie, so a request costs no session query. It holds only
# the sign-in (user id, backend, auth hash) and overflowing messages; the checkout's drafts
# live in storefront.CheckoutDraft. Signing out bumps User.session_epoch, which is part of
# the auth hash, so every cookie of that account stops working, copies included.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

# --- security -----------------------------------------------------------------------
# Headers: tessera/core/security.py adds the Content-Security-Policy (nonces for inline
# scripts) and the Permissions-Policy; Django's middleware the ones below.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A payment provider's page is reached by a redirect after the checkout's form: the policy's
# form-action must name its origin (Alipay's gateway; the sandbox is this site).
CSP_FORM_ACTION = [
    o.strip()
    for o in os.environ.get("TESSERA_CSP_FORM_ACTION", "https://openapi.alipay.com").split(",")
    if o.strip()
]
# Event pictures may come from an image host (Event.image_url).
CSP_IMG_SRC = [
    o.strip() for o in os.environ.get("TESSERA_CSP_IMG_SRC", "https:").split(",") if o.strip()
]
CSP_REPORT_URI = os.environ.get("TESSERA_CSP_REPORT_URI", "")
HTTPS = _env_bool("TESSERA_HTTPS", False)
if HTTPS:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (docs/operations.md).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("TESSERA_SSL_REDIRECT", True)
    # Probes of the load balancer and the metrics scraper may speak plain HTTP inside.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("TESSERA_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("TESSERA_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = _env_bool("TESSERA_HSTS_PRELOAD", False)

# Logs: text lines by default; TESSERA_LOG_FORMAT=json writes one JSON object per line
# (tessera/core/logs.py), each with the request id of its request or task.
LOG_FORMAT = os.environ.get("TESSERA_LOG_FORMAT", "text")
LOG_LEVEL = os.environ.get("TESSERA_LOG_LEVEL", "INFO").upper()
_TASK_LIBRARY_LOG_LEVEL = "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tessera.core.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "tessera.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A worker's console says only what happened (tessera.tasks: core/workers.py); the
        # task libraries' own line per run is left for TESSERA_LOG_LEVEL=DEBUG.
        "django_tasks": {"level": _TASK_LIBRARY_LOG_LEVEL},
        "django_tasks_db": {"level": _TASK_LIBRARY_LOG_LEVEL},
        "rq.worker": {"level": _TASK_LIBRARY_LOG_LEVEL},
    },
}

NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 200

# --- secrets at rest ---------------------------------------------------------------------
# Master keys that seal private keys kept in the database (tessera/core/vault.py): entries
# "<id>:<base64 32 bytes>", current first. Empty: var/master_keys, created 0600 on first need.
MASTER_KEYS = os.environ.get("TESSERA_MASTER_KEY", "")
MASTER_KEY_FILE = Path(os.environ.get("TESSERA_MASTER_KEY_FILE", VAR_DIR / "master_keys"))

# --- sign-in protection ------------------------------------------------------------------
# Platform operators (superusers, members of the platform organization) must set up two-step
# sign-in before the back office opens for them (tessera/accounts/middleware.py).
TWO_FACTOR_REQUIRED_FOR_OPERATORS = True
# Sign-in throttling (tessera/accounts/throttle.py).
# Behind a reverse proxy: the request header that carries the client's address as the proxy
# saw it (e.g. HTTP_X_REAL_IP); empty: the connection's address.
CLIENT_IP_HEADER = os.environ.get("TESSERA_CLIENT_IP_HEADER", "")

# --- rate limits (tessera/ratelimit) -----------------------------------------------------
# Token buckets per action and scope: (refills per minute, burst). Scopes: ip (an IPv6 /64 is
# one address), device (core.device.device_key), account. Sized so that a genuine fan never
# meets them (holding, releasing and holding again a few times a minute passes), while a
# script repeating an action many times a second is refused with 429 and Retry-After. One
# address may be a carrier's gateway for thousands of phones: the ip scope is wide.
# TESSERA_RATELIMITS (JSON, same shape) overrides per action and scope; the action "*"
# applies to every action, and null turns a scope off, e.g. {"*": {"ip": null}}.
RATELIMIT_ENABLED = os.environ.get("TESSERA_RATELIMIT", "1") != "0"
# redis | database | memory; default: redis when TESSERA_REDIS_URL is set, else database.
# The database backend costs one write statement per checked request (docs/architecture.md).
RATELIMIT_BACKEND = os.environ.get("TESSERA_RATELIMIT_BACKEND", "")
RATELIMIT_REDIS_PREFIX = "tessera:rl"
RATELIMITS: dict = {
    "sign_in": {"ip": (60, 60), "device": (20, 20), "account": (20, 20)},
    "sign_up": {"ip": (30, 30), "device": (6, 6)},
    "queue_join": {"ip": (1200, 600), "device": (30, 20), "account": (30, 20)},
    "hold": {"ip": (1200, 600), "device": (40, 30), "account": (40, 30)},
    "checkout": {"ip": (1200, 600), "device": (40, 30), "account": (40, 30)},
    "payment": {"ip": (1200, 600), "device": (40, 30), "account": (40, 30)},
    "verify_send": {"account": (3, 3), "ip": (60, 60)},
    "verify_confirm": {"account": (30, 20)},
}
for _action, _scopes in json.loads(os.environ.get("TESSERA_RATELIMITS") or "{}").items():
    RATELIMITS.setdefault(_action, {}).update(_scopes)
# Called by the layers that answer ahead of Django's middleware (sale fast lane, queue status).
RATELIMIT_CHECK = "tessera.ratelimit.limits.refusal"

# --- email -------------------------------------------------------------------------------
# Messages go through the outbox (tessera/notifications). With TESSERA_EMAIL_HOST set they
# are sent over SMTP; without, each email is written as a file under var/mail/ for a
# developer to open (TESSERA_EMAIL_BACKEND overrides both).
EMAIL_HOST = os.environ.get("TESSERA_EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("TESSERA_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("TESSERA_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_PORT = int(os.environ.get("TESSERA_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TESSERA_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TESSERA_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("TESSERA_EMAIL_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("TESSERA_EMAIL_FROM", "Tessera <tickets@localhost>")
# --- notifications (tessera/notifications, docs/notifications.md) ---------------------------
# The site's address as a person reaches it, for links in emails and text messages (the same
# TESSERA_PUBLIC_URL the payment gateways use).
NOTIFICATIONS_PUBLIC_URL = os.environ.get("TESSERA_PUBLIC_URL", "http://127.0.0.1:8000")
# Text messages: "sandbox" (kept in the database, shown in the back office), "aliyun" or
# "tencent" with their credentials, template ids per message kind.
NOTIFICATIONS_SMS_PROVIDER = os.environ.get("TESSERA_SMS_PROVIDER", "sandbox")
NOTIFICATIONS_SMS_OPTIONS = json.loads(os.environ.get("TESSERA_SMS_OPTIONS", "{}") or "{}")
NOTIFICATIONS_SMS_TEMPLATES = json.loads(os.environ.get("TESSERA_SMS_TEMPLATES", "{}") or "{}")
# Back office: orders waiting this long for a payment's callback, or paid this long without
# tickets, are listed as stuck.
TESSERA_STUCK_PAYMENT_MINUTES = int(os.environ.get("TESSERA_STUCK_PAYMENT_MINUTES", "15"))
# --- risk control (tessera/risk) -------------------------------------------------------------
# Joins and holds of one session or room per RISK_WINDOW_SECONDS above which it is under
# attack (every join and hold then needs a proof of work); 0 turns automatic detection off
# (the organizer's switch still works). Without Redis the count is per web process. A big
# on-sale's genuine rate is the operator's to judge: set it above what a sale of that size
# brings in its first minutes.
RISK_ATTACK_RATE = int(os.environ.get("TESSERA_RISK_ATTACK_RATE", "600"))
RISK_WINDOW_SECONDS = int(os.environ.get("TESSERA_RISK_WINDOW_SECONDS", "10"))
