"""Onboarding: partner applications, their review, and the invitations of a partner's people.

Every entry point is one durable transaction with its audit entry. Locks: an application's
decision locks the application row (``select_for_update``), so two operators approving at
once create one organization; the last-owner rule locks the organization's owner
memberships in primary-key order before it changes or removes one; accepting an invitation
locks the invitation row, so a token opens once.

Bank details never leave this module in clear: they are sealed (``SealedBinaryField``) and
only their masked form is shown or audited. An invitation's token is a random value signed
with the site's key; the row keeps its SHA-256 digest only. The link travels in the
invitation's email (the outbox row holds its path until delivered, as a password reset's).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from tessera.accounts import services as accounts
from tessera.accounts.models import Membership, Organization, OrganizationKind, Role
from tessera.accounts.selectors import is_platform_operator
from tessera.core import audit
from tessera.inventory.models import SalesChannel
from tessera.notifications.models import Channel, Kind
from tessera.notifications.services import notify
from tessera.partners import licence
from tessera.partners.console import role_in
from tessera.partners.errors import (
    ApplicationDecided,
    ApplicationInvalid,
    ApplicationNotFound,
    ApplicationPending,
    InvitationExpired,
    InvitationForSomeoneElse,
    InvitationInvalid,
    InvitationUsed,
    LastOwner,
    NotAllowed,
    SlugTaken,
    TermsInvalid,
)
from tessera.partners.models import (
    ApplicationStatus,
    CommissionBasis,
    CommissionRule,
    Contract,
    Invitation,
    PartnerApplication,
    PartnerKind,
    SettlementCycle,
)

INVITATION_DAYS = 7
INVITATION_SALT = "tessera.partners.invitation"
MANAGING_ROLES = (Role.OWNER, Role.MANAGER)
MAX_MONEY = Decimal("1000000000000")  # 10¹² CNY: beyond any credit line, within the column
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")


# -- checks ------------------------------------------------------------------------------


def _text(value, *, required: bool = True, max_length: int) -> str:
    """One line of printable text, spaces collapsed; raises ValueError with the reason."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(_("Enter text."))
    text = " ".join(value.split())
    if not text.isprintable():
        raise ValueError(_("Remove the control characters."))
    if required and not text:
        raise ValueError(_("This field is required."))
    if len(text) > max_length:
        raise ValueError(
            _("At most %(n)d characters, please.") % {"n": max_length},
        )
    return text


def mask_account(number: str) -> str:
    """An account number as every page shows it: its last four digits."""
    return f"**** {number[-4:]}"


@dataclass(frozen=True)
class ApplicationInput:
    kind: str
    legal_name: str
    legal_name_en: str
    contact_name: str
    contact_email: str
    contact_phone: str
    licence_number: str
    bank_name: str
    bank_account_name: str
    bank_account_number: str


def check_application(**values) -> ApplicationInput:
    """The cleaned application; raises ApplicationInvalid with a message per bad field."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}

    def take(name, **kw):
        try:
            cleaned[name] = _text(values.get(name), **kw)
        except ValueError as exc:
            errors[name] = str(exc)

    take("legal_name", max_length=120)
    take("legal_name_en", required=False, max_length=120)
    take("contact_name", max_length=60)
    take("contact_email", max_length=254)
    take("contact_phone", max_length=32)
    take("licence_number", max_length=40)
    take("bank_name", max_length=80)
    take("bank_account_name", max_length=120)
    take("bank_account_number", max_length=40)
    kind = values.get("kind")
    if kind not in PartnerKind.values:
        errors["kind"] = _("Choose organizer, venue operator or distributor.")
    if "contact_email" in cleaned:
        try:
            validate_email(cleaned["contact_email"])
        except ValidationError:
            errors["contact_email"] = _("Enter a valid email address.")
    if "contact_phone" in cleaned and not _PHONE.match(cleaned["contact_phone"]):
        errors["contact_phone"] = _("Enter a phone number (digits, spaces, + and -).")
    if "licence_number" in cleaned:
        code = licence.normalise(cleaned["licence_number"])
        if not licence.is_valid(code):
            errors["licence_number"] = _(
                "This is not a valid unified social credit code (18 characters with its "
                "check character, as printed on the business licence)."
            )
        cleaned["licence_number"] = code
    if "bank_account_number" in cleaned:
        digits = cleaned["bank_account_number"].replace(" ", "").replace("-", "")
        if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 32):
            errors["bank_account_number"] = _("Enter the account number: 8 to 32 digits.")
        cleaned["bank_account_number"] = digits
    if errors:
        raise ApplicationInvalid(details=errors)
    return ApplicationInput(kind=kind, **cleaned)


@dataclass(frozen=True)
class RuleTerms:
    basis: str
    value: Decimal
    min_tickets: int = 0


@dataclass(frozen=True)
class ContractTerms:
    platform_fee_percent: Decimal
    settlement_cycle: str
    starts_on: date
    credit_limit: Decimal = Decimal("0")
    prepaid: bool = False
    ends_on: date | None = None
    rules: list[RuleTerms] = field(default_factory=list)


def _decimal(value) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InvalidOperation
    number = Decimal(str(value))
    if not number.is_finite():
        raise InvalidOperation
    return number


def check_terms(terms: ContractTerms) -> None:
    """Raises TermsInvalid with a message per bad term."""
    errors: dict[str, str] = {}
    try:
        fee = _decimal(terms.platform_fee_percent)
        if not (Decimal("0") <= fee <= Decimal("100")) or fee != fee.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["platform_fee_percent"] = _("A percentage from 0 to 100, two decimals at most.")
    if terms.settlement_cycle not in SettlementCycle.values:
        errors["settlement_cycle"] = _("Choose weekly or monthly.")
    try:
        credit = _decimal(terms.credit_limit)
        if not (Decimal("0") <= credit < MAX_MONEY) or credit != credit.quantize(Decimal("0.01")):
            raise InvalidOperation
        if terms.prepaid and credit > 0:
            errors["credit_limit"] = _("A prepaid partner has no credit limit: leave it at 0.")
    except (InvalidOperation, ValueError, TypeError):
        errors["credit_limit"] = _("An amount from 0, two decimals at most.")
    if not isinstance(terms.starts_on, date):
        errors["starts_on"] = _("Enter the date the contract starts.")
    elif terms.ends_on is not None and (
        not isinstance(terms.ends_on, date) or terms.ends_on <= terms.starts_on
    ):
        errors["ends_on"] = _("The end comes after the start.")
    tiers = set()
    for index, rule in enumerate(terms.rules):
        key = f"rule{index}"
        try:
            value = _decimal(rule.value)
            if value < 0 or value >= MAX_MONEY or value != value.quantize(Decimal("0.01")):
                raise InvalidOperation
        except (InvalidOperation, ValueError, TypeError):
            errors[key] = _("A commission is an amount or a percentage from 0.")
            continue
        if rule.basis not in CommissionBasis.values:
            errors[key] = _("Choose a percentage or a fixed amount per ticket.")
        elif rule.basis == CommissionBasis.PERCENT and value > 100:
            errors[key] = _("A percentage is at most 100.")
        elif not isinstance(rule.min_tickets, int) or not 0 <= rule.min_tickets < 10**9:
            errors[key] = _("The tier starts at 0 tickets or more.")
        elif rule.min_tickets in tiers:
            errors[key] = _("Two rules start at the same number of tickets.")
        tiers.add(rule.min_tickets)
    if errors:
        raise TermsInvalid(details=errors)


# -- applications --------------------------------------------------------------------------


def submit_application(*, applicant, now: datetime, **values) -> PartnerApplication:
    """Record a partner application of the signed-in ``applicant``.

    Raises ApplicationInvalid (bad fields; nothing written), ApplicationPending (one
    application at a time waits for review)."""
    data = check_application(**values)
    sealed = json.dumps(
        {
            "bank_name": data.bank_name,
            "account_name": data.bank_account_name,
            "account_number": data.bank_account_number,
        },
        ensure_ascii=False,
    ).encode()
    try:
        with transaction.atomic(durable=True):
            if PartnerApplication.objects.filter(
                applicant=applicant, status=ApplicationStatus.SUBMITTED
            ).exists():
                raise ApplicationPending()
            application = PartnerApplication.objects.create(
                applicant=applicant,
                kind=data.kind,
                legal_name=data.legal_name,
                legal_name_en=data.legal_name_en,
                contact_name=data.contact_name,
                contact_email=data.contact_email,
                contact_phone=data.contact_phone,
                licence_number=data.licence_number,
                bank_details=sealed,
                bank_account_masked=mask_account(data.bank_account_number),
                submitted_at=now,
            )
            audit.record(
                action="partner_application.submitted",
                obj=application,
                actor=applicant,
                now=now,
                data={"kind": data.kind, "licence": data.licence_number},
            )
    except IntegrityError:
        raise ApplicationPending() from None
    return application


def bank_details(application: PartnerApplication) -> dict:
    """The opened bank details (bank_name, account_name, account_number): for settlement's
    payouts only, never for a page."""
    return json.loads(bytes(application.bank_details).decode())


def bank_summary(application: PartnerApplication) -> dict:
    """What a page may show of the bank details: bank, account name, masked number."""
    details = bank_details(application)
    return {
        "bank_name": details["bank_name"],
        "account_name": details["account_name"],
        "masked": application.bank_account_masked,
    }


def _decide(application_id: int) -> PartnerApplication:
    application = (
        PartnerApplication.objects.select_for_update()
        .select_related("applicant")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise ApplicationNotFound()
    if application.status != ApplicationStatus.SUBMITTED:
        raise ApplicationDecided()
    return application


def approve_application(
    *, application_id: int, actor, slug: str, terms: ContractTerms, now: datetime
) -> Organization:
    """Approve: the organization of the applied kind (unique ``slug``) with the applicant as
    its owner, its contract and commission rules, and for a distributor its sales channel
    (code = slug), all in one transaction; the applicant is told.

    Raises NotAllowed (not a platform operator), TermsInvalid, SlugTaken,
    ApplicationDecided (approved or rejected before)."""
    if not is_platform_operator(actor):
        raise NotAllowed()
    slug = slug.strip().lower() if isinstance(slug, str) else ""
    if not _SLUG.match(slug):
        raise SlugTaken(
            _("A short name of 1-40 lower-case letters, digits and hyphens."),
            details={"slug": "format"},
        )
    check_terms(terms)
    try:
        with transaction.atomic(durable=True):
            application = _decide(application_id)
            is_distributor = application.kind == PartnerKind.DISTRIBUTOR
            if Organization.objects.filter(slug=slug).exists() or (
                is_distributor and SalesChannel.objects.filter(code=slug).exists()
            ):
                raise SlugTaken(details={"slug": slug})
            organization = accounts.create_organization(
                kind=OrganizationKind(application.kind),
                name=application.legal_name,
                name_en=application.legal_name_en,
                slug=slug,
                owner=application.applicant,
                actor=actor,
                contact_email=application.contact_email,
            )
            contract = Contract.objects.create(
                organization=organization,
                platform_fee_percent=Decimal(str(terms.platform_fee_percent)),
                settlement_cycle=terms.settlement_cycle,
                credit_limit=Decimal(str(terms.credit_limit)),
                prepaid=bool(terms.prepaid),
                starts_on=terms.starts_on,
                ends_on=terms.ends_on,
                signed_by=actor,
            )
            CommissionRule.objects.bulk_create(
                CommissionRule(
                    contract=contract,
                    basis=rule.basis,
                    value=Decimal(str(rule.value)),
                    min_tickets=rule.min_tickets,
                )
                for rule in terms.rules
            )
            channel = None
            if is_distributor:
                channel = SalesChannel.objects.create(
                    organization=organization,
                    code=slug,
                    name=application.legal_name[:80],
                    name_en=application.legal_name_en[:80],
                )
            application.status = ApplicationStatus.APPROVED
            application.decided_at = now
            application.decided_by = actor
            application.organization = organization
            application.save(
                update_fields=["status", "decided_at", "decided_by", "organization", "updated_at"]
            )
            audit.record(
                action="partner_application.approved",
                obj=application,
                actor=actor,
                organization_id=organization.pk,
                now=now,
                data={"slug": slug, "channel": channel.code if channel else None},
            )
            audit.record(
                action="contract.created",
                obj=contract,
                actor=actor,
                organization_id=organization.pk,
                now=now,
                data={
                    "platform_fee_percent": str(contract.platform_fee_percent),
                    "settlement_cycle": contract.settlement_cycle,
                    "credit_limit": str(contract.credit_limit),
                    "prepaid": contract.prepaid,
                    "starts_on": contract.starts_on.isoformat(),
                    "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
                    "rules": [[r.basis, str(r.value), r.min_tickets] for r in terms.rules],
                },
            )
            notify(
                application.applicant,
                Kind.PARTNER_APPLICATION,
                {
                    "decision": "approved",
                    "name": application.legal_name,
                    "name_en": application.legal_name_en,
                },
                key=f"partner_application:{application.pk}",
                now=now,
            )
    except IntegrityError:
        # Another approval took the slug between the check and the insert.
        raise SlugTaken(details={"slug": slug}) from None
    return organization


def reject_application(
    *, application_id: int, actor, reason: str, now: datetime
) -> PartnerApplication:
    """Reject with a reason the applicant reads; the applicant is told.

    Raises NotAllowed, ApplicationInvalid (no reason), ApplicationDecided."""
    if not is_platform_operator(actor):
        raise NotAllowed()
    try:
        reason = _text(reason, max_length=500)
    except ValueError as exc:
        raise ApplicationInvalid(details={"reason": str(exc)}) from None
    with transaction.atomic(durable=True):
        application = _decide(application_id)
        application.status = ApplicationStatus.REJECTED
        application.decided_at = now
        application.decided_by = actor
        application.reason = reason
        application.save(
            update_fields=["status", "decided_at", "decided_by", "reason", "updated_at"]
        )
        audit.record(
            action="partner_application.rejected",
            obj=application,
            actor=actor,
            now=now,
            data={"reason": reason},
        )
        notify(
            application.applicant,
            Kind.PARTNER_APPLICATION,
            {
                "decision": "rejected",
                "name": application.legal_name,
                "name_en": application.legal_name_en,
                "reason": reason,
            },
            key=f"partner_application:{application.pk}",
            now=now,
        )
    return application


# -- invitations and members ---------------------------------------------------------------


def _signer() -> signing.Signer:
    return signing.Signer(salt=INVITATION_SALT, sep=".")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_manager(actor, organization) -> str:
    role = role_in(actor, organization)
    if role not in MANAGING_ROLES:
        raise NotAllowed()
    return role


def _clean_email(email) -> str:
    try:
        text = _text(email, max_length=254)
        validate_email(text)
    except (ValueError, ValidationError):
        raise ApplicationInvalid(details={"email": _("Enter a valid email address.")}) from None
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def invite_member(
    *, organization: Organization, actor, email: str, role: str, now: datetime, language: str = ""
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``organization`` with ``role``; returns the invitation and its
    token (the only time it exists in clear). An earlier open invitation of the same address
    is withdrawn. The email goes through the outbox.

    Raises NotAllowed (only owners and managers invite; only owners invite owners),
    ApplicationInvalid (bad address or role, or already a member)."""
    actor_role = _require_manager(actor, organization)
    if role not in Role.values:
        raise ApplicationInvalid(details={"role": _("Choose a role.")})
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise NotAllowed(_("Only an owner can invite another owner."))
    email = _clean_email(email)
    with transaction.atomic(durable=True):
        if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
            raise ApplicationInvalid(
                details={"email": _("Someone with this address is already a member.")}
            )
        Invitation.objects.filter(
            organization=organization,
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
        token = _signer().sign(secrets.token_urlsafe(32))
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_digest=token_digest(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit.record(
            action="partner_invitation.sent",
            obj=invitation,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"email": email, "role": role},
        )
        notify(
            None,
            Kind.PARTNER_INVITATION,
            {
                "organization": organization.pk,
                "inviter": actor.display_name or actor.get_username(),
                "role": role,
                "path": reverse("partners:invitation", args=[token]),
            },
            key=f"partner_invitation:{invitation.pk}",
            now=now,
            email=email,
            channels=[Channel.EMAIL],
            language=language,
        )
    return invitation, token


def find_invitation(token) -> Invitation:
    """The invitation of a token (its signature checked first: a forged token costs no
    query). Raises InvitationInvalid."""
    if not isinstance(token, str) or len(token) > 200:
        raise InvitationInvalid()
    try:
        _signer().unsign(token)
    except signing.BadSignature:
        raise InvitationInvalid() from None
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_digest=token_digest(token))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid()
    return invitation


def check_open(invitation: Invitation, now: datetime) -> None:
    state = invitation.state(now)
    if state in ("accepted", "revoked"):
        raise InvitationUsed()
    if state == "expired":
        raise InvitationExpired()
    if not invitation.organization.is_active:
        raise InvitationInvalid()


def accept_invitation(*, token: str, user, now: datetime) -> Membership:
    """Make the signed-in ``user`` a member with the invitation's role (a member already
    keeps the role they have). Raises InvitationInvalid, InvitationUsed, InvitationExpired,
    InvitationForSomeoneElse (the account's email is not the invited address)."""
    found = find_invitation(token)
    with transaction.atomic(durable=True):
        invitation = (
            Invitation.objects.select_for_update().select_related("organization").get(pk=found.pk)
        )
        check_open(invitation, now)
        if (user.email or "").strip().lower() != invitation.email.lower():
            raise InvitationForSomeoneElse()
        organization = invitation.organization
        membership = Membership.objects.filter(user=user, organization=organization).first()
        if membership is None:
            membership = accounts.add_member(
                organization=organization, user=user, role=invitation.role, actor=user
            )
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            action="partner_invitation.accepted",
            obj=invitation,
            actor=user,
            organization_id=organization.pk,
            now=now,
            data={"role": membership.role},
        )
    return membership


def revoke_invitation(
    *, organization: Organization, invitation_id: int, actor, now: datetime
) -> Invitation:
    """Withdraw an open invitation of ``organization``. Raises NotAllowed, InvitationInvalid
    (none of this organization's), InvitationUsed."""
    _require_manager(actor, organization)
    with transaction.atomic(durable=True):
        invitation = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation_id, organization=organization)
            .first()
        )
        if invitation is None:
            raise InvitationInvalid()
        if invitation.accepted_at or invitation.revoked_at:
            raise InvitationUsed()
        invitation.revoked_at = now
        invitation.save(update_fields=["revoked_at"])
        audit.record(
            action="partner_invitation.revoked",
            obj=invitation,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"email": invitation.email},
        )
    return invitation


def _locked_member(organization: Organization, membership_id: int) -> tuple[Membership, int]:
    """The membership and the organization's number of owners, the owner rows locked in
    primary-key order (the last-owner rule's lock)."""
    owners = list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership_id, organization=organization)
        .first()
    )
    if membership is None:
        raise NotAllowed(_("No such member in this organization."))
    return membership, len(owners)


def change_role(
    *, organization: Organization, membership_id: int, role: str, actor, now: datetime
) -> Membership:
    """Give a member another role. Raises NotAllowed (owners and managers change roles;
    only owners touch an owner's role or make owners), ApplicationInvalid (unknown role),
    LastOwner."""
    actor_role = _require_manager(actor, organization)
    if role not in Role.values:
        raise ApplicationInvalid(details={"role": _("Choose a role.")})
    with transaction.atomic(durable=True):
        membership, owners = _locked_member(organization, membership_id)
        actor_role = _require_manager(actor, organization)  # again, under the owners' lock
        if Role.OWNER in (role, membership.role) and actor_role != Role.OWNER:
            raise NotAllowed(_("Only an owner can change an owner's role or make an owner."))
        if membership.role == Role.OWNER and role != Role.OWNER and owners <= 1:
            raise LastOwner()
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        audit.record(
            action="membership.role_changed",
            obj=membership,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"from": before, "to": role, "user": membership.user_id},
        )
    return membership


def remove_member(*, organization: Organization, membership_id: int, actor, now: datetime) -> None:
    """Remove a member from ``organization``. Raises NotAllowed (owners and managers remove;
    only owners remove an owner), LastOwner."""
    actor_role = _require_manager(actor, organization)
    with transaction.atomic(durable=True):
        membership, owners = _locked_member(organization, membership_id)
        actor_role = _require_manager(actor, organization)  # again, under the owners' lock
        if membership.role == Role.OWNER and actor_role != Role.OWNER:
            raise NotAllowed(_("Only an owner can remove an owner."))
        if membership.role == Role.OWNER and owners <= 1:
            raise LastOwner()
        audit.record(
            action="membership.removed",
            obj=membership,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"user": membership.user_id, "role": membership.role},
        )
        membership.delete()
