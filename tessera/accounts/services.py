from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils.text import slugify

from tessera.accounts import throttle, totp
from tessera.accounts.errors import (
    InvalidSecondFactor,
    NoSecondFactor,
    SecondFactorLocked,
    SecondFactorRequired,
)
from tessera.accounts.models import (
    MAX_SESSION_EPOCH,
    Membership,
    Organization,
    RecoveryCode,
    Role,
    TwoFactorDevice,
    User,
)
from tessera.accounts.selectors import is_platform_operator
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


# -- two-step sign-in (TOTP) ----------------------------------------------------------------


def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [totp.new_recovery_code() for _ in range(totp.RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, digest=totp.recovery_digest(code, user_id=user.pk))
        for code in codes
    )
    return codes


def start_two_factor(*, user: User, now: datetime) -> TwoFactorDevice:
    """A fresh authenticator secret for ``user``, not in force until confirmed with a code.
    An unconfirmed secret is replaced; a confirmed one is returned unchanged."""
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.is_confirmed:
            return device
        if device is None:
            device = TwoFactorDevice(user=user)
        device.secret = totp.new_secret()
        device.created_at = now
        device.last_used_step = 0
        device.save()
    return device


def _check_throttle(user: User, now: datetime) -> None:
    if throttle.wait_seconds(keys=throttle.second_factor_key(user), now=now):
        raise SecondFactorLocked(
            throttle.lockout_message(
                throttle.wait_seconds(keys=throttle.second_factor_key(user), now=now)
            )
        )


def _refuse_code(user: User, now: datetime) -> None:
    locked = throttle.record_failure(keys=throttle.second_factor_key(user), now=now)
    if locked:
        raise SecondFactorLocked(throttle.lockout_message(locked))
    raise InvalidSecondFactor()


def confirm_two_factor(*, user: User, code: str, now: datetime) -> list[str]:
    """Turn two-step sign-in on with the first code the authenticator shows -> the recovery
    codes, shown to the person once. Raises NoSecondFactor without a started enrolment,
    InvalidSecondFactor for a wrong code, SecondFactorLocked after too many."""
    _check_throttle(user, now)
    codes: list[str] = []
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.is_confirmed:
            raise NoSecondFactor()
        step = totp.matching_step(
            device.secret, code, unix_seconds=now.timestamp(), after_step=device.last_used_step
        )
        if step is not None:
            device.confirmed_at = now
            device.last_used_step = step
            device.save(update_fields=["confirmed_at", "last_used_step"])
            codes = _new_recovery_codes(user, now)
            audit.record(action="accounts.two_factor_enabled", obj=user, actor=user, now=now)
    if step is None:
        _refuse_code(user, now)
    throttle.clear(keys=throttle.second_factor_key(user))
    return codes


def verify_second_factor(*, user: User, code: str, now: datetime) -> str:
    """Check a code from the authenticator (each good once) or an unused recovery code ->
    ``"totp"`` or ``"recovery"``. Raises NoSecondFactor, InvalidSecondFactor or
    SecondFactorLocked (wrong codes are throttled per account)."""
    _check_throttle(user, now)
    device = TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise NoSecondFactor()
    kind = ""
    step = totp.matching_step(
        device.secret, code, unix_seconds=now.timestamp(), after_step=device.last_used_step
    )
    # The conditional update makes a code good once, even for two requests at the same time.
    if step is not None and TwoFactorDevice.objects.filter(
        pk=device.pk, last_used_step__lt=step
    ).update(last_used_step=step):
        kind = "totp"
    else:
        recovery = totp.normalise_recovery_code(code)
        if recovery and RecoveryCode.objects.filter(
            user=user,
            digest=totp.recovery_digest(recovery, user_id=user.pk),
            used_at__isnull=True,
        ).update(used_at=now):
            kind = "recovery"
            audit.record(action="accounts.recovery_code_used", obj=user, actor=user, now=now)
    if not kind:
        _refuse_code(user, now)
    throttle.clear(keys=throttle.second_factor_key(user))
    return kind


def regenerate_recovery_codes(*, user: User, now: datetime) -> list[str]:
    """New recovery codes; the old ones stop working."""
    with transaction.atomic():
        if not TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            raise NoSecondFactor()
        codes = _new_recovery_codes(user, now)
        audit.record(action="accounts.recovery_codes_renewed", obj=user, actor=user, now=now)
    return codes


def disable_two_factor(*, user: User, code: str, now: datetime) -> None:
    """Turn two-step sign-in off after a good code. Platform operators cannot: for them it
    is required (SecondFactorRequired)."""
    if is_platform_operator(user):
        raise SecondFactorRequired()
    verify_second_factor(user=user, code=code, now=now)
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        audit.record(action="accounts.two_factor_disabled", obj=user, actor=user, now=now)


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# -- closing an account (a deletion request) ------------------------------------------------


def close_account(*, user: User, now: datetime) -> User:
    """Close ``user``'s account and remove what identifies the person: names, email, phone,
    username (replaced by ``deleted-<id>``), password, memberships, two-step sign-in. The
    row stays, so orders and the audit log keep pointing at an account; every session ends.
    Call inside the caller's transaction (``privacy.services.erase_person``)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.username = f"deleted-{user.pk}"
        user.first_name = user.last_name = user.display_name = ""
        user.email = user.phone = ""
        user.preferred_language = ""
        user.is_active = user.is_staff = user.is_superuser = False
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        Membership.objects.filter(user=user).delete()
        TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        end_sessions(user=user)
        audit.record(action="accounts.closed", obj=user, actor=user, now=now)
    return user


def set_account_active(*, user: User, active: bool, now: datetime) -> User:
    """Let an account sign in again, or stop it (``active`` False: Django refuses its
    sign-in and every session of it ends). Used by risk control's block and unblock. Call
    inside the caller's transaction; the caller records why in its own audit entry."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        if not active:
            end_sessions(user=user)
        audit.record(
            action="accounts.activated" if active else "accounts.deactivated",
            obj=user,
            now=now,
        )
    return user
