"""The sale's hottest endpoints answered ahead of Django's middleware (``core.fastlane``).

Each handler does what the Ninja endpoint at the same URL does (``sale.api``), through the
same functions: the buyer's checkout, the order status read, a provider's callback and a
sales channel's order. The Ninja endpoints stay: they document the API (OpenAPI) and answer
any request the lane does not take (another method, a malformed path).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth import get_user
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from ninja.utils import check_csrf
from pydantic import ValidationError

from tessera.core import fastlane
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.core.idempotency import idempotency_key
from tessera.sale import api, channels, status


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401

    def __init__(self):
        super().__init__(_("Please sign in."))


class CsrfFailed(DomainError):
    code = "csrf_failed"
    status = 403

    def __init__(self):
        from tessera.api import CSRF_FAILED

        super().__init__(CSRF_FAILED)


class WaitInvalid(DomainError):
    code = "invalid_input"
    status = 422


def _signed_in(request):
    """The buyer of a request as Ninja's ``django_auth`` finds them: a session cookie, a
    good CSRF token, a signed-in user. Raises NotAuthenticated or CsrfFailed."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie:
        raise NotAuthenticated()
    if check_csrf(request) is not None:
        raise CsrfFailed()
    engine = import_string(settings.SESSION_ENGINE + ".SessionStore")
    request.session = engine(cookie)
    user = get_user(request)
    if not user.is_authenticated:
        raise NotAuthenticated()
    request.user = user
    return user


@cache
def _request_guards() -> tuple:
    """``settings.REQUEST_GUARDS``: checks over the WSGI environ a hold answered here passes
    (risk control's proof of work), as Django's middleware runs them for the Ninja endpoint."""
    return tuple(import_string(path) for path in getattr(settings, "REQUEST_GUARDS", ()))


@cache
def _rate_limit_check():
    return import_string(settings.RATELIMIT_CHECK) if settings.RATELIMIT_CHECK else None


def _rate_limited(environ, action: str, *, account=None) -> None:
    """The rate limits Django's middleware would apply (``settings.RATELIMIT_CHECK``)."""
    check = _rate_limit_check()
    refused = check(environ, action, account=account) if check is not None else None
    if refused is not None:
        raise refused


def checkout(request: fastlane.FastRequest) -> fastlane.Answer:
    django_request = request.django_request()
    user = _signed_in(django_request)
    _rate_limited(request.environ, "checkout", account=user.pk)
    for guard in _request_guards():
        guard(
            request.environ, purpose="hold", user=user, session_id=int(request.args["session_id"])
        )
    payload = api.CheckoutIn.model_validate(request.json())
    code, body = api.run_checkout(django_request, user, int(request.args["session_id"]), payload)
    return fastlane.json_answer(code, body)


def order_status(request: fastlane.FastRequest) -> fastlane.Answer:
    query = request.query
    try:
        wait = float(query.get("wait") or 0)
    except ValueError:
        wait = -1
    if not 0 <= wait <= status.MAX_WAIT_SECONDS:
        raise WaitInvalid(_("The input is not valid."))
    answer = status.order_status(token=query.get("t", "")[:200], wait=wait)
    headers = [("Retry-After", str(answer.retry_after))] if answer.retry_after else []
    return fastlane.json_answer(200, answer.as_dict(), headers)


def provider_callback(request: fastlane.FastRequest) -> fastlane.Answer:
    answer = api.callback_answer(
        request.args["provider"], headers=request.headers(), body=request.body
    )
    return fastlane.Answer(answer.status, answer.body, content_type=answer.content_type)


CHANNEL_ORDERS = "/api/v1/channel/orders"


def channel_order(request: fastlane.FastRequest) -> fastlane.Answer:
    """The channel order, counted in the key's call log with the status it answers (as
    ``tessera.apikeys.calls.CallLogMiddleware`` counts the Django routes)."""
    channels.forget_principal()
    try:
        answer = _channel_order(request)
    except DomainError as exc:
        channels.record_call(CHANNEL_ORDERS, exc.status, exc.code)
        raise
    except ValidationError:
        channels.record_call(CHANNEL_ORDERS, 422, "invalid_input")
        raise
    except Exception:
        channels.record_call(CHANNEL_ORDERS, 500, "server_error")
        raise
    channels.record_call(CHANNEL_ORDERS, answer.status)
    return answer


def _channel_order(request: fastlane.FastRequest) -> fastlane.Answer:
    key = channels.key_from_header(request.header("Authorization"))
    if not key:
        raise NotAuthenticated()
    principal = channels.authenticate(key, now=clock_now())
    payload = api.ChannelOrderIn.model_validate(request.json())
    sale = api.run_channel_order(principal, payload, idempotency_key(request.django_request()))
    headers = [("Idempotent-Replayed", "true")] if sale.replayed else []
    return fastlane.json_answer(201, api.channel_answer(sale), headers)


ROUTES = [
    fastlane.route("POST", r"/api/v1/sessions/(?P<session_id>[0-9]{1,18})/checkout", checkout),
    fastlane.route("GET", r"/api/v1/orders/-/status", order_status),
    fastlane.route(
        "POST", r"/api/v1/payments/callbacks/(?P<provider>[a-z0-9_]{1,20})", provider_callback
    ),
    fastlane.route("POST", r"/api/v1/channel/orders", channel_order),
]
