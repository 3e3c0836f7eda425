"""Invitations and members: single-use signed tokens, expiry, the invited address, roles,
the last owner, and one partner never reaching another's people."""

from datetime import timedelta

import pytest

from tessera.accounts.models import Membership, Role
from tessera.accounts.tests.factories import make_user
from tessera.core import clock
from tessera.core.models import AuditEntry
from tessera.notifications.models import Channel, Message
from tessera.partners import services
from tessera.partners.errors import (
    ApplicationInvalid,
    InvitationExpired,
    InvitationForSomeoneElse,
    InvitationInvalid,
    InvitationUsed,
    LastOwner,
    NotAllowed,
)
from tessera.partners.models import Invitation
from tessera.partners.tests.factories import approved_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner():
    return approved_partner()


def _invite(organization, owner, email="li@xinghai.example", role=Role.STAFF, now=None):
    return services.invite_member(
        organization=organization, actor=owner, email=email, role=role, now=now or clock.now()
    )


def test_an_invitation_keeps_only_the_tokens_digest_and_sends_the_link(partner):
    organization, owner = partner
    invitation, token = _invite(organization, owner, email="Li@XingHai.example")

    assert invitation.email == "Li@xinghai.example"
    assert invitation.token_digest == services.token_digest(token)
    assert token not in str(Invitation.objects.values_list().get(pk=invitation.pk))
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    (message,) = Message.objects.filter(kind="partner_invitation")
    assert (message.channel, message.address, message.user) == (
        Channel.EMAIL,
        "Li@xinghai.example",
        None,
    )
    assert message.context["path"] == f"/partners/invitations/{token}/"
    assert AuditEntry.objects.filter(action="partner_invitation.sent").count() == 1


def test_the_invited_person_accepts_once(partner):
    organization, owner = partner
    _invitation, token = _invite(organization, owner, role=Role.FINANCE)
    colleague = make_user(email="li@xinghai.example")

    membership = services.accept_invitation(token=token, user=colleague, now=clock.now())

    assert (membership.organization, membership.user, membership.role) == (
        organization,
        colleague,
        Role.FINANCE,
    )
    # a second use of the same link is refused, for anyone
    with pytest.raises(InvitationUsed):
        services.accept_invitation(token=token, user=colleague, now=clock.now())
    assert Membership.objects.filter(organization=organization).count() == 2


def test_an_expired_invitation_is_refused(partner):
    organization, owner = partner
    now = clock.now()
    _invitation, token = _invite(organization, owner, now=now)
    colleague = make_user(email="li@xinghai.example")
    with pytest.raises(InvitationExpired):
        services.accept_invitation(
            token=token, user=colleague, now=now + timedelta(days=7, seconds=1)
        )
    assert not Membership.objects.filter(user=colleague).exists()


def test_another_account_cannot_use_the_link(partner):
    organization, owner = partner
    invitation, token = _invite(organization, owner)
    stranger = make_user(email="someone@else.example")
    with pytest.raises(InvitationForSomeoneElse):
        services.accept_invitation(token=token, user=stranger, now=clock.now())
    assert not Membership.objects.filter(user=stranger).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


@pytest.mark.parametrize(
    "token",
    ["", "abc", "x" * 500, "forged.signature", "a\x00b"],
)
def test_forged_or_garbled_tokens_are_refused(partner, token):
    with pytest.raises(InvitationInvalid):
        services.accept_invitation(token=token, user=make_user(), now=clock.now())


def test_a_validly_signed_token_without_its_row_is_refused(partner):
    token = services._signer().sign("made-up")
    with pytest.raises(InvitationInvalid):
        services.find_invitation(token)


def test_a_withdrawn_invitation_no_longer_opens(partner):
    organization, owner = partner
    invitation, token = _invite(organization, owner)
    services.revoke_invitation(
        organization=organization, invitation_id=invitation.pk, actor=owner, now=clock.now()
    )
    with pytest.raises(InvitationUsed):
        services.accept_invitation(
            token=token, user=make_user(email="li@xinghai.example"), now=clock.now()
        )


def test_inviting_the_same_address_again_withdraws_the_earlier_link(partner):
    organization, owner = partner
    _first, old_token = _invite(organization, owner)
    _second, new_token = _invite(organization, owner)
    colleague = make_user(email="li@xinghai.example")
    with pytest.raises(InvitationUsed):
        services.accept_invitation(token=old_token, user=colleague, now=clock.now())
    services.accept_invitation(token=new_token, user=colleague, now=clock.now())


def test_roles_that_may_invite(partner):
    organization, owner = partner
    staff = make_user(email="staff@x.example")
    manager = make_user(email="manager@x.example")
    Membership.objects.create(organization=organization, user=staff, role=Role.STAFF)
    Membership.objects.create(organization=organization, user=manager, role=Role.MANAGER)

    with pytest.raises(NotAllowed):
        _invite(organization, staff)
    with pytest.raises(NotAllowed):
        _invite(organization, manager, role=Role.OWNER)
    _invite(organization, manager, role=Role.MANAGER)
    with pytest.raises(ApplicationInvalid):
        _invite(organization, owner, role="admin")
    with pytest.raises(ApplicationInvalid):
        _invite(organization, owner, email="nobody")
    with pytest.raises(ApplicationInvalid):
        _invite(organization, owner, email="manager@x.example")  # a member already
    assert Invitation.objects.count() == 1


def test_a_member_of_partner_a_never_acts_on_partner_b():
    a, owner_a = approved_partner(slug="partner-a")
    b, owner_b = approved_partner(slug="partner-b", contact_email="b@b.example")
    invitation_b, _token = _invite(b, owner_b, email="x@b.example")
    member_b = Membership.objects.get(organization=b, user=owner_b)

    with pytest.raises(NotAllowed):
        _invite(b, owner_a)
    # B's invitation and member ids, given with A's organization, are not found
    with pytest.raises(InvitationInvalid):
        services.revoke_invitation(
            organization=a, invitation_id=invitation_b.pk, actor=owner_a, now=clock.now()
        )
    with pytest.raises(NotAllowed):
        services.change_role(
            organization=a,
            membership_id=member_b.pk,
            role=Role.STAFF,
            actor=owner_a,
            now=clock.now(),
        )
    with pytest.raises(NotAllowed):
        services.remove_member(
            organization=a, membership_id=member_b.pk, actor=owner_a, now=clock.now()
        )
    invitation_b.refresh_from_db()
    member_b.refresh_from_db()
    assert invitation_b.revoked_at is None
    assert member_b.role == Role.OWNER


def test_the_last_owner_stays(partner):
    organization, owner = partner
    me = Membership.objects.get(organization=organization, user=owner)
    with pytest.raises(LastOwner):
        services.change_role(
            organization=organization,
            membership_id=me.pk,
            role=Role.MANAGER,
            actor=owner,
            now=clock.now(),
        )
    with pytest.raises(LastOwner):
        services.remove_member(
            organization=organization, membership_id=me.pk, actor=owner, now=clock.now()
        )
    me.refresh_from_db()
    assert me.role == Role.OWNER

    # with a second owner, the first may step down
    second = make_user(email="second@x.example")
    other = Membership.objects.create(organization=organization, user=second, role=Role.STAFF)
    services.change_role(
        organization=organization,
        membership_id=other.pk,
        role=Role.OWNER,
        actor=owner,
        now=clock.now(),
    )
    services.change_role(
        organization=organization,
        membership_id=me.pk,
        role=Role.FINANCE,
        actor=owner,
        now=clock.now(),
    )
    assert Membership.objects.get(pk=me.pk).role == Role.FINANCE
    assert AuditEntry.objects.filter(action="membership.role_changed").count() == 2


def test_a_manager_cannot_touch_an_owner(partner):
    organization, owner = partner
    manager = make_user(email="m@x.example")
    Membership.objects.create(organization=organization, user=manager, role=Role.MANAGER)
    me = Membership.objects.get(organization=organization, user=owner)
    with pytest.raises(NotAllowed):
        services.remove_member(
            organization=organization, membership_id=me.pk, actor=manager, now=clock.now()
        )
    with pytest.raises(NotAllowed):
        services.change_role(
            organization=organization,
            membership_id=me.pk,
            role=Role.STAFF,
            actor=manager,
            now=clock.now(),
        )
    staff = Membership.objects.create(
        organization=organization, user=make_user(email="s@x.example"), role=Role.STAFF
    )
    services.remove_member(
        organization=organization, membership_id=staff.pk, actor=manager, now=clock.now()
    )
    assert not Membership.objects.filter(pk=staff.pk).exists()
