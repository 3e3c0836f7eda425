"""The person's data pages: download everything as JSON, ask for the account's deletion."""

import json

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.privacy import selectors, services


@never_cache
@login_required
@require_POST
def export(request):
    """Everything the platform holds on the signed-in person, as a JSON download."""
    now = clock.now()
    data = selectors.export_person(user=request.user, now=now)
    services.record_export(user=request.user, now=now)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    filename = f"tessera-my-data-{now:%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@login_required
def delete_account(request):
    """What a deletion keeps and removes, why it may not be possible yet, and the request
    itself (confirmed with the password)."""
    now = clock.now()
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = _("Tick the box to confirm that you want your account deleted.")
        else:
            try:
                services.erase_person(
                    user=request.user,
                    password=request.POST.get("password", ""),
                    now=now,
                    request=request,
                )
            except DomainError as exc:
                error = str(exc.message)
            else:
                logout(request)
                return render(request, "privacy/closed.html", {})
    return render(
        request,
        "privacy/delete.html",
        {
            "blockers": services.deletion_blockers(user=request.user, now=now),
            "error": error,
            "nav": "orders",
        },
        status=200 if not error else 400,
    )
