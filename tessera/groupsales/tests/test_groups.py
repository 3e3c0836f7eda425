"""Group sales through the services: request → quote (places held until the deadline) →
accept and pay at the sandbox cashier → tickets → names before the cut-off, locked after;
a quote past its deadline gives its places back. Bad input changes nothing; one organizer
never touches another's requests."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.groupsales import services
from tessera.groupsales.errors import (
    GroupRequestInvalid,
    NamesLocked,
    NotForSale,
    NotNameable,
    QuoteNotAcceptable,
    RequestNotFound,
    RequestNotQuotable,
)
from tessera.groupsales.models import GroupRequest, GroupStatus, GroupTicketName
from tessera.groupsales.tests.factories import (
    USCC,
    group_world,
    now_,
    pay,
    quoted,
    request_data,
)
from tessera.groupsales.validators import clean_tax_number
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.orders.models import OrderStatus
from tessera.tickets import services as tickets
from tessera.tickets.models import Revocation, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def test_tax_numbers():
    assert clean_tax_number(USCC) == USCC
    assert clean_tax_number(" 91350100m000100y43 ") == USCC  # spaces, lower case
    assert clean_tax_number("91350100M000100Y44") is None  # wrong check character
    assert clean_tax_number("91350100M000100I43") is None  # I is not a code character
    assert clean_tax_number("110108123456789") == "110108123456789"  # 15 characters
    assert clean_tax_number("11010812345678901234") == "11010812345678901234"  # 20
    assert clean_tax_number("1101081234567890") is None  # 16
    assert clean_tax_number("") is None


def test_the_whole_group_flow_request_quote_pay_tickets_names():
    now = now_()
    sale, organizer, contact = group_world(now)
    free_before = InventoryUnit.objects.filter(
        session=sale.session, zone=sale.zones["A"], status=UnitStatus.AVAILABLE
    ).count()

    # when the contact asks for 8 places of zone A and the organizer quotes ¥300 each
    req = quoted(sale, organizer, contact, now, quantity=8, unit_price="300.00")

    # then 8 places of zone A are held in the contact's name until the deadline, no longer
    # free to anyone: more than the per-order (6) and per-account limits
    assert req.status == GroupStatus.QUOTED
    hold = Hold.objects.get(pk=req.hold_id)
    assert (hold.user_id, hold.quantity, hold.expires_at) == (
        contact.pk,
        8,
        now + timedelta(days=3),
    )
    held = InventoryUnit.objects.filter(hold=hold, status=UnitStatus.HELD)
    assert held.count() == 8
    assert set(held.values_list("zone_id", flat=True)) == {sale.zones["A"].pk}
    assert (
        InventoryUnit.objects.filter(
            session=sale.session, zone=sale.zones["A"], status=UnitStatus.AVAILABLE
        ).count()
        == free_before - 8
    )
    # an hour later a fan's 10-minute hold would have lapsed; the group's has not
    later = now + timedelta(hours=5)
    with pytest.raises(PlacesUnavailable):
        from tessera.inventory import services as inventory
        from tessera.inventory.tests.factories import make_buyer

        inventory.hold_units(
            session=sale.session,
            user=make_buyer(),
            unit_ids=list(held.values_list("id", flat=True)[:1]),
            now=later,
        )

    # when the contact accepts and pays the quote at the sandbox cashier
    order = services.accept_quote(request=req, user=contact, now=later)
    assert order.total == Decimal("2400.00")
    assert sorted(set(order.lines.values_list("price", flat=True))) == [Decimal("300.00")]
    assert services.accept_quote(request=req, user=contact, now=later).pk == order.pk
    order = pay(order, contact, later)

    # then 8 tickets are issued, the request reads as paid (and the task records it)
    assert order.status == OrderStatus.FULFILLED
    req.refresh_from_db()
    assert req.effective_status == GroupStatus.PAID
    services.settle_group_sales(now=later)
    req.refresh_from_db()
    assert req.status == GroupStatus.PAID
    group_tickets = services.group_tickets(req)
    assert len(group_tickets) == 8
    assert all(t.status == TicketStatus.VALID and t.version == 1 for t in group_tickets)

    # when the contact names two tickets before the cut-off
    first, second = group_tickets[0], group_tickets[1]
    named = services.name_group_tickets(
        request=req, user=contact, names={first.pk: "李雷", str(second.pk): "韩梅梅"}, now=later
    )

    # then those tickets are reissued with the names (old credentials revoked)
    assert named == 2
    first.refresh_from_db()
    assert (first.holder_name, first.version) == ("李雷", 2)
    assert Revocation.objects.filter(ticket_id=first.pk, version=1).exists()
    assert "李雷" in tickets.credential_for(ticket=first, now=later) or first.version == 2
    assert dict(GroupTicketName.objects.values_list("ticket_id", "name")) == {
        first.pk: "李雷",
        second.pk: "韩梅梅",
    }
    # the same name again changes nothing
    assert (
        services.name_group_tickets(request=req, user=contact, names={first.pk: "李雷"}, now=later)
        == 0
    )

    # after the cut-off the names are locked
    with pytest.raises(NamesLocked):
        services.name_group_tickets(
            request=req, user=contact, names={first.pk: "王芳"}, now=now + timedelta(days=5)
        )
    first.refresh_from_db()
    assert first.holder_name == "李雷"


def test_names_need_a_paid_order_and_only_the_groups_tickets():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = quoted(sale, organizer, contact, now, quantity=2)
    with pytest.raises(NotNameable):
        services.name_group_tickets(request=req, user=contact, names={}, now=now)
    order = pay(services.accept_quote(request=req, user=contact, now=now), contact, now)
    req.refresh_from_db()
    other = Ticket.objects.exclude(order_line__order=order).first()
    bad = {-5: "x", "abc": "y"}
    if other:
        bad[other.pk] = "z"
    with pytest.raises(GroupRequestInvalid):
        services.name_group_tickets(request=req, user=contact, names=bad, now=now)
    ticket = services.group_tickets(req)[0]
    with pytest.raises(GroupRequestInvalid):
        services.name_group_tickets(
            request=req, user=contact, names={ticket.pk: "bad\x00name"}, now=now
        )
    with pytest.raises(GroupRequestInvalid):
        services.name_group_tickets(request=req, user=contact, names={ticket.pk: "x" * 81}, now=now)
    assert not GroupTicketName.objects.exists()
    stranger = make_member(organization=make_organization(), password=None)
    with pytest.raises(RequestNotFound):
        services.name_group_tickets(request=req, user=stranger, names={ticket.pk: "A"}, now=now)


def test_past_the_deadline_the_places_go_back_and_the_quote_expires():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = quoted(sale, organizer, contact, now, quantity=5)
    unit_ids = list(InventoryUnit.objects.filter(hold_id=req.hold_id).values_list("id", flat=True))
    order = services.accept_quote(request=req, user=contact, now=now)

    # when the deadline passes unpaid and the periodic task runs
    after = now + timedelta(days=3, minutes=1)
    result = services.settle_group_sales(now=after)

    # then the quote expired, its order is cancelled and the places are on sale again
    assert result["expired"] == 1
    req.refresh_from_db()
    order.refresh_from_db()
    assert (req.status, order.status) == (GroupStatus.EXPIRED, OrderStatus.CANCELLED)
    assert set(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("status", flat=True)) == {
        UnitStatus.AVAILABLE
    }
    with pytest.raises(QuoteNotAcceptable):
        services.accept_quote(request=req, user=contact, now=after)


def test_a_quote_not_accepted_also_expires_and_frees_its_hold():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = quoted(sale, organizer, contact, now, quantity=3)
    services.settle_group_sales(now=now + timedelta(days=4))
    req.refresh_from_db()
    assert req.status == GroupStatus.EXPIRED
    assert not InventoryUnit.objects.filter(hold_id=req.hold_id, status=UnitStatus.HELD).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tax_number", "12345"),
        ("tax_number", "91350100M000100Y44"),
        ("quantity", 0),
        ("quantity", 10**12),
        ("quantity", "many"),
        ("quantity", True),
        ("budget", "-1"),
        ("budget", "1e40"),
        ("budget", "NaN"),
        ("budget", "12.345"),
        ("budget", 1.5),
        ("company_name", ""),
        ("company_name", "x\x00y"),
        ("company_name", "名" * 121),
        ("invoice_email", "not-an-email"),
        ("zone", 999999),
        ("zone", None),
        ("notes", ["a list"]),
    ],
)
def test_bad_requests_are_refused_with_a_field_error_and_nothing_is_written(field, value):
    now = now_()
    sale, _organizer, contact = group_world(now)
    with pytest.raises(GroupRequestInvalid) as caught:
        services.submit_group_request(
            session=sale.session,
            contact=contact,
            data=request_data(sale.zones["A"], **{field: value}),
            now=now,
        )
    assert field in caught.value.details
    assert not GroupRequest.objects.exists()


def test_a_session_not_on_sale_or_real_name_takes_no_requests():
    now = now_()
    sale, _organizer, contact = group_world(now, real_name_required=True)
    with pytest.raises(NotForSale):
        services.submit_group_request(
            session=sale.session, contact=contact, data=request_data(sale.zones["A"]), now=now
        )


def test_quotes_are_checked_and_one_organizer_never_answers_anothers_requests():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = services.submit_group_request(
        session=sale.session, contact=contact, data=request_data(sale.zones["A"]), now=now
    )
    other = make_member(organization=make_organization(), role=Role.OWNER, password=None)
    kwargs = {
        "unit_price": "300",
        "pay_by_at": now + timedelta(days=1),
        "names_by_at": now + timedelta(days=2),
        "now": now,
    }
    with pytest.raises(RequestNotFound):
        services.quote_group_request(request=req, actor=other, **kwargs)
    with pytest.raises(RequestNotFound):
        services.decline_group_request(request=req, actor=other, reason="", now=now)
    finance = make_member(
        organization=sale.session.event.organization, role=Role.FINANCE, password=None
    )
    with pytest.raises(RequestNotFound):
        services.quote_group_request(request=req, actor=finance, **kwargs)
    for bad in (
        {"unit_price": "-3"},
        {"unit_price": "abc"},
        {"pay_by_at": now - timedelta(hours=1)},
        {"pay_by_at": now + timedelta(days=11)},  # after the session starts
        {"names_by_at": now + timedelta(hours=1)},  # before the deadline
        {"pay_by_at": None},
    ):
        with pytest.raises(GroupRequestInvalid):
            services.quote_group_request(request=req, actor=organizer, **{**kwargs, **bad})
    # more places than are free: nothing held
    req.quantity = 31
    req.save()
    with pytest.raises(PlacesUnavailable):
        services.quote_group_request(request=req, actor=organizer, **kwargs)
    req.refresh_from_db()
    assert (req.status, req.hold_id) == (GroupStatus.REQUESTED, None)
    assert not Hold.objects.exists()
    services.decline_group_request(request=req, actor=organizer, reason="售罄", now=now)
    with pytest.raises(RequestNotQuotable):
        services.quote_group_request(request=req, actor=organizer, **kwargs)
