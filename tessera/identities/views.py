"""The fan's attendee list (观演人): add, see masked, remove."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.identities import services
from tessera.identities.documents import DocumentType

MAX_FIELD = 80


def _field(request, name: str) -> str:
    value = request.POST.get(name, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def attendees(request):
    """The list, and the form that adds one (POST)."""
    form = {"name": "", "doc_type": DocumentType.RESIDENT_ID.value, "number": ""}
    error, error_field, status = None, None, 200
    if request.method == "POST":
        form = {key: _field(request, key) for key in form}
        try:
            attendee = services.add_attendee(
                user=request.user,
                name=form["name"],
                doc_type=form["doc_type"],
                number=form["number"],
                now=clock.now(),
            )
        except DomainError as exc:
            error = str(exc.message)
            error_field = next(iter(exc.details), None) if exc.details else None
            status = 422 if exc.status == 422 else 409
            form["number"] = ""  # never echo a document number back
        else:
            messages.success(
                request,
                _("%(name)s (%(number)s) was added to your attendees.")
                % {"name": attendee.name, "number": attendee.masked},
            )
            return redirect(_next_url(request) or "identities:attendees")
    response = render(
        request,
        "identities/attendees.html",
        {
            "attendees": services.list_attendees(user=request.user),
            "doc_types": DocumentType.choices,
            "form": form,
            "error": error,
            "error_field": error_field,
            "next": _next_url(request),
            "max_attendees": services.MAX_ATTENDEES,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["POST"])
def remove(request, attendee_id: int):
    try:
        services.remove_attendee(user=request.user, attendee_id=attendee_id, now=clock.now())
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The attendee was removed."))
    return redirect("identities:attendees")
