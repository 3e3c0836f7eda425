"""Django settings for Tessera.

Configuration comes from the environment only (``TESSERA_*``); see README.md.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

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
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


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
    "tessera.core",
    "tessera.accounts",
    "tessera.venues",
    "tessera.catalog",
    "tessera.inventory",
    "tessera.orders",
    "tessera.tickets",
    "tessera.payments",
    "tessera.sandbox",
    "tessera.sale",
    "tessera.waitingroom",
    "tessera.checkin",
    "tessera.aftersales",
    "tessera.transfers",
    "tessera.storefront",
    "tessera.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
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
    "tessera.transfers.tasks.expire_transfers",
]

# Checks a session must pass before it is cancelled (tessera/catalog/services.py).
SESSION_CANCEL_GUARDS: list[str] = ["tessera.aftersales.services.refuse_sessions_with_paid_orders"]

# Checks a ticket's transfer must pass when it is sent and when it is accepted
# (tessera/transfers/guards.py): real-name sessions add the recipient's identity check here.
TRANSFER_GUARDS: list[str] = []

# Checks every hold must pass before places are held (tessera/inventory/admission.py).
HOLD_GUARDS: list[str] = ["tessera.waitingroom.guards.require_admission"]

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
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if _env_bool("TESSERA_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TESSERA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 200
