"""The partner console's scoping: which partner organizations a signed-in user works for.

Every console page is ``console_required``: it receives ``request.partner_orgs`` (the
active partner organizations the user is a member of; platform operators see every one)
and ``request.partner`` (the one chosen with ``?org=<id>``, else the first). A user who is
no partner's member gets 403, never another partner's rows: each page filters its rows by
``request.partner`` (or ``partner_organization_ids``), never by a raw id from the request.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role
from tessera.accounts.selectors import is_platform_operator

PARTNER_KINDS = (
    OrganizationKind.ORGANIZER,
    OrganizationKind.VENUE_OPERATOR,
    OrganizationKind.DISTRIBUTOR,
)
WRITE_ROLES = (Role.OWNER, Role.MANAGER, Role.STAFF)


def partner_organizations(user):
    """The active partner organizations ``user`` may open in the console."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    qs = Organization.objects.filter(kind__in=PARTNER_KINDS, is_active=True)
    if is_platform_operator(user):
        return qs.order_by("name", "pk")
    ids = Membership.objects.filter(user=user).values_list("organization_id", flat=True)
    return qs.filter(pk__in=ids).order_by("name", "pk")


def partner_organization_ids(user) -> list[int]:
    return list(partner_organizations(user).values_list("pk", flat=True))


def role_in(user, organization) -> str | None:
    """The user's role in ``organization`` (platform operators count as owner)."""
    if is_platform_operator(user):
        return Role.OWNER
    membership = Membership.objects.filter(user=user, organization=organization).first()
    return membership.role if membership else None


def can_write(user, organization) -> bool:
    return role_in(user, organization) in WRITE_ROLES


def console_required(view):
    """Signed in, and a member of at least one partner organization."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        orgs = list(partner_organizations(request.user))
        if not orgs:
            raise PermissionDenied
        chosen = orgs[0]
        wanted = request.GET.get("org", "")
        if wanted.isdigit() and len(wanted) < 19:
            chosen = next((o for o in orgs if o.pk == int(wanted)), None)
            if chosen is None:
                raise PermissionDenied
        request.partner_orgs = orgs
        request.partner = chosen
        return view(request, *args, **kwargs)

    return wrapper


def console_links():
    """The console's navigation: (url name, label) pairs from the partner apps."""
    return list(getattr(settings, "PARTNER_CONSOLE_LINKS", ()))
