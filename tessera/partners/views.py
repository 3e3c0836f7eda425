"""The partner console's home: the partner's organizations and the console's sections."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from tessera.partners.console import console_required


@never_cache
@console_required
def home(request):
    return render(
        request,
        "partners/console/home.html",
        {"partner": request.partner, "orgs": request.partner_orgs},
    )
