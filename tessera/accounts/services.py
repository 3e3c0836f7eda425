from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils.text import slugify

from tessera.accounts.models import MAX_SESSION_EPOCH, Membership, Organization, Role, User
from tessera.core import audit
from tessera.core.clock import now as clock_now
from tessera.core.errors import InvalidInput


def create_organization(
    *,
    kind: str,
    name: str,
    name_en: str = "",
    slug: str = "",
    owner: User | None = None,
    actor: User | None = None,
    contact_email: str = "",
) -> Organization:
    """Create an organization, optionally with its first owner (who gets back-office access)."""
    slug = slug or slugify(name_en or name) or None
    if not slug:
        raise InvalidInput(details={"slug": "required"})
    with transaction.atomic():
        if Organization.objects.filter(slug=slug).exists():
            raise InvalidInput(details={"slug": f"taken: {slug}"})
        org = Organization.objects.create(
            kind=kind, name=name, name_en=name_en, slug=slug, contact_email=contact_email
        )
        if owner is not None:
            add_member(organization=org, user=owner, role=Role.OWNER, actor=actor)
        audit.record(
            action="organization.created",
            obj=org,
            actor=actor,
            organization_id=org.pk,
            now=clock_now(),
        )
    return org


def add_member(
    *, organization: Organization, user: User, role: str, actor: User | None = None
) -> Membership:
    """Add or re-role a member. Members get ``is_staff`` so they can reach the back office."""
    if role not in Role.values:
        raise InvalidInput(details={"role": role})
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        audit.record(
            action="membership.set",
            obj=membership,
            actor=actor,
            organization_id=organization.pk,
            now=clock_now(),
            data={"role": role},
        )
    return membership


def end_sessions(*, user: User) -> int:
    """End every session of ``user`` on every device: bump ``session_epoch``, which is part
    of the session auth hash, so a session (or a copy of its signed cookie) signed in before
    now no longer authenticates. The instance is updated too. Returns the new epoch."""
    User.objects.filter(pk=user.pk).update(
        session_epoch=Case(
            When(session_epoch__gte=MAX_SESSION_EPOCH, then=Value(0)),
            default=F("session_epoch") + 1,
        )
    )
    epoch = User.objects.filter(pk=user.pk).values_list("session_epoch", flat=True).first()
    if epoch is not None:
        user.session_epoch = epoch
    return user.session_epoch
