"""Who may see and change what: every back-office read is scoped through here."""

from django.db.models import QuerySet

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role

WRITE_ROLES = (Role.OWNER, Role.MANAGER, Role.STAFF)


def is_platform_operator(user) -> bool:
    """Superusers and members of a platform-operator organization see everything."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, organization__kind=OrganizationKind.PLATFORM, organization__is_active=True
    ).exists()


def list_organization_ids(user, *, roles=None) -> list[int]:
    """Ids of the active organizations the user belongs to (optionally in given roles)."""
    if not getattr(user, "is_authenticated", False):
        return []
    qs = Membership.objects.filter(user=user, organization__is_active=True)
    if roles:
        qs = qs.filter(role__in=roles)
    return list(qs.values_list("organization_id", flat=True))


def list_organizations(user) -> QuerySet[Organization]:
    if is_platform_operator(user):
        return Organization.objects.all()
    return Organization.objects.filter(id__in=list_organization_ids(user))


def scope_to_user(queryset: QuerySet, user, *, org_field: str = "organization") -> QuerySet:
    """Restrict ``queryset`` to rows whose ``org_field`` is one of the user's organizations."""
    if is_platform_operator(user):
        return queryset
    return queryset.filter(**{f"{org_field}__in": list_organization_ids(user)})


def can_write(user, organization_id: int | None) -> bool:
    """Owners, managers and staff write; finance members only read."""
    if is_platform_operator(user):
        return True
    if organization_id is None:
        return False
    return organization_id in list_organization_ids(user, roles=WRITE_ROLES)
