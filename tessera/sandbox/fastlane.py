"""The cashier's buttons answered ahead of Django's middleware (``core.fastlane``).

In an on-sale every buyer presses "pay" once; a real gateway serves that page on its own
machines, so here it should cost the shop as little as it can. The press of a button with a
good CSRF token and a good signed link is handled by the same service as the cashier view
(``services.press_button``) and answered with the same 303 to the shop. Anything else —
an unknown button, a bad link, a trade already decided, a failed CSRF check — is left to the
view (``views.cashier``), which says so on the page.
"""

from __future__ import annotations

from uuid import UUID

from django.middleware.csrf import CsrfViewMiddleware

from tessera.core import fastlane
from tessera.core.clock import now as clock_now
from tessera.core.errors import DomainError
from tessera.sandbox import pagepay, services


def _csrf_passes(request) -> bool:
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None


def press(request: fastlane.FastRequest) -> fastlane.Answer | None:
    django_request = request.django_request()
    if not _csrf_passes(django_request):
        return None
    choice = django_request.POST.get("choice", "")
    pairs = [(name, value) for name, values in django_request.GET.lists() for value in values]
    if choice not in services.CHOICES or not pairs:
        return None
    try:
        terms = pagepay.terms_from_query(UUID(request.args["payment_id"]), pairs)
        trade = services.press_button(
            terms=terms,
            choice=choice,
            now=clock_now(),
            payer=django_request.POST.get("payer", ""),
        )
    except DomainError:  # TradeClosed, a bad payer account: the view says so on the page
        return None
    location = trade.return_url or django_request.get_full_path()
    return fastlane.Answer(
        303, b"", content_type="text/html; charset=utf-8", headers=[("Location", location)]
    )


ROUTES = [
    fastlane.route(
        "POST",
        r"/pay/sandbox/(?P<payment_id>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/",
        press,
    ),
]
