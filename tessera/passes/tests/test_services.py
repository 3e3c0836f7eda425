"""Passes through their services: buying all or nothing, paying, the one credential at
every covered gate and no other, releasing a match."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.checkin import selectors as checkin_selectors
from tessera.checkin import services as checkin
from tessera.checkin.models import Direction
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import LedgerEntry, Order, OrderStatus
from tessera.passes import selectors, services
from tessera.passes.errors import (
    MatchNotReleasable,
    PassLimitReached,
    PassNotFound,
    PassNotOnSale,
    PassSoldOut,
)
from tessera.passes.models import EntryStatus, Pass, PassCredit, PassStatus
from tessera.passes.tests.factories import FIRST_MATCH, NOW, buy_and_pay, make_league
from tessera.tickets import credentials, pass_credentials
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.services import issue_tickets

pytestmark = pytest.mark.django_db

AT_GATE = FIRST_MATCH - timedelta(hours=1)


def judge(session, text, now):
    rules = checkin.load_rules(session)
    return checkin.judge_code(text, rules=rules, gate_id=None, direction=Direction.ENTRY, now=now)


def offline_judge(session, text, now):
    """What a device does with its bundle alone (no database): the keys and revocations
    it downloaded, the pure verifier."""
    bundle = checkin_selectors.device_bundle(session=session, include_names=False, now=now)
    keys = {k["kid"]: base64.b64decode(k["public_key"]) for k in bundle["pass_keys"]}
    revoked = [tuple(r) for r in bundle["revocations"]]
    places = dict(bundle["places"])
    try:
        payload = pass_credentials.verify_for_session(
            text,
            session_id=bundle["session_id"],
            pass_keys=keys,
            is_revoked=revoked,
            now=now,
            leeway=checkin.CLOCK_LEEWAY,
        )
    except credentials.CredentialError as exc:
        return exc.reason, None
    except pass_credentials.NotForSession:
        return "wrong_session", None
    return "valid", places.get(payload.ticket_id)


def test_buying_takes_one_place_in_every_covered_session_and_paying_issues_the_tickets():
    # given a pass covering three matches at three venues (two events)
    league = make_league(matches=3, price="1000.00")
    fan = make_buyer()

    # when the fan buys it
    bought = services.buy_pass(product_id=league.product.pk, user=fan, provider="sandbox", now=NOW)

    # then one order awaits payment with a line in each session, its shares adding up
    order = bought.order
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total == Decimal("1000.00")
    prices = sorted(line.price for line in order.lines.all())
    assert prices == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert sorted(order.lines.values_list("unit__session_id", flat=True)) == sorted(
        s.pk for s in league.sessions
    )
    for session in league.sessions:
        assert InventoryUnit.objects.filter(session=session, status=UnitStatus.HELD).count() == 1
    assert bought.payment.cashier_url

    # and when the fan pays at the sandbox
    sold, text = buy_and_pay_existing(bought)

    # then every place is sold, a ticket per session in that session, the pass active
    assert sold.status == PassStatus.ACTIVE
    tickets = Ticket.objects.filter(order_line__order=order)
    assert sorted(t.session_id for t in tickets) == sorted(s.pk for s in league.sessions)
    assert {t.holder_name for t in tickets} == {sold.holder_name} != {""}
    for session in league.sessions:
        assert InventoryUnit.objects.filter(session=session, status=UnitStatus.SOLD).count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    assert LedgerEntry.objects.get(order=order).amount == Decimal("1000.00")
    assert text.startswith("TP1:")


def buy_and_pay_existing(bought):
    from tessera.payments.testing import pay_locally

    pay_locally(payment_id=bought.payment.pk, now=NOW)
    sold = selectors.get_pass(user=bought.order.user, pass_id=bought.sold_pass.pk)
    return sold, selectors.pass_credential(sold)


def test_one_credential_admits_at_each_covered_session_and_at_no_other():
    # given a paid pass over three matches, and a session it does not cover
    league = make_league(matches=3)
    sold, text = buy_and_pay(league)
    outsider_order = league.outsider.session  # keys of the outsider exist once it sells
    entries = {e.session_id: e for e in sold.entries.all()}

    # then each covered gate admits it as that session's ticket, online and offline
    for sale in league.sales:
        session = sale.session
        verdict = judge(session, text, AT_GATE)
        assert verdict.reason == checkin.VALID
        assert verdict.payload.ticket_id == entries[session.pk].ticket_id
        assert verdict.payload.session_id == session.pk
        reason, place = offline_judge(session, text, AT_GATE)
        assert reason == "valid"
        seat = entries[session.pk].order_line
        assert place == checkin.place_text(
            section=seat.section_name, row=seat.row_label, seat=seat.seat_label
        )

    # and a session no product of that key covers refuses it, online and offline alike
    # (its gates do not even trust the pass key)
    assert judge(outsider_order, text, AT_GATE).reason == credentials.UNKNOWN_KEY
    assert offline_judge(outsider_order, text, AT_GATE) == ("unknown_key", None)


def test_a_pass_is_refused_at_a_session_its_product_does_not_cover():
    # given two products of one organizer sharing a session: a pass of the second covers
    # only the shared session; at the first product's other sessions the key is known
    league = make_league(matches=2)
    shared, only_first = league.sales[0], league.sales[1]
    second = services.create_product(
        organization=league.organization,
        name="单场通",
        name_en="One-match pass",
        price=Decimal("200.00"),
        sale_starts_at=NOW - timedelta(days=1),
        sale_ends_at=FIRST_MATCH,
        coverage=[(shared.session, shared.zones["A"])],
        now=NOW,
    )
    fan = make_buyer()
    bought = services.buy_pass(product_id=second.pk, user=fan, provider="sandbox", now=NOW)
    _sold, text = buy_and_pay_existing(bought)
    buy_and_pay(league)  # the first product sells too

    # then the shared session admits it, the first product's other session does not
    assert judge(shared.session, text, AT_GATE).reason == checkin.VALID
    assert judge(only_first.session, text, AT_GATE).reason == credentials.UNKNOWN_KEY
    assert offline_judge(shared.session, text, AT_GATE)[0] == "valid"


def test_a_forged_or_tampered_pass_is_refused():
    league = make_league(matches=2)
    _sold, text = buy_and_pay(league)
    payload, _sig, _signed = pass_credentials.decode(text)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = pass_credentials.sign(payload, Ed25519PrivateKey.generate())
    session = league.sessions[0]
    assert judge(session, forged, AT_GATE).reason == credentials.FORGED
    assert judge(session, text[:-3], AT_GATE).reason == credentials.MALFORMED
    assert judge(session, "TP1:", AT_GATE).reason == credentials.MALFORMED
    assert offline_judge(session, forged, AT_GATE) == ("forged", None)


def test_the_ticket_credential_format_is_unchanged_and_still_admits():
    # given the pass's ticket of one session, shown as a plain TS1 credential
    league = make_league(matches=2)
    sold, _text = buy_and_pay(league)
    from tessera.tickets.services import credential_for

    entry = sold.entries.all()[0]
    ts1 = credential_for(ticket=entry.ticket, now=NOW)
    assert ts1.startswith("TS1:") and len(ts1) == 159
    assert judge(entry.session, ts1, AT_GATE).reason == checkin.VALID


def test_scan_online_admits_once_and_counts_the_entry_as_the_sessions_ticket():
    import uuid

    league = make_league(matches=2)
    sold, text = buy_and_pay(league)
    session = league.sessions[1]
    device, _token = checkin.register_device(
        organization=league.organization, name="Gate 1", now=NOW
    )
    first = checkin.scan_online(
        device=device,
        session=session,
        gate_id=None,
        direction=Direction.ENTRY,
        text=text,
        scan_uuid=uuid.uuid4(),
        now=AT_GATE,
    )
    again = checkin.scan_online(
        device=device,
        session=session,
        gate_id=None,
        direction=Direction.ENTRY,
        text=text,
        scan_uuid=uuid.uuid4(),
        now=AT_GATE + timedelta(minutes=1),
    )
    entry = sold.entries.get(session=session)
    assert first.reason == checkin.VALID
    assert first.ticket_id == entry.ticket_id
    assert again.reason == checkin.ALREADY_ENTERED
    outside = checkin.scan_online(
        device=device,
        session=league.outsider.session,
        gate_id=None,
        direction=Direction.ENTRY,
        text=text,
        scan_uuid=uuid.uuid4(),
        now=AT_GATE,
    )
    assert outside.reason == credentials.UNKNOWN_KEY
    assert not outside.scan.is_accepted


def test_buying_when_one_covered_session_has_no_place_left_fails_whole():
    # given a pass over three matches, the second one's only zone sold out
    league = make_league(matches=3, seats_per_row=2)
    full = league.sales[1]
    InventoryUnit.objects.filter(session=full.session).update(status=UnitStatus.BLOCKED)
    fan = make_buyer()
    holds_before = Hold.objects.count()

    # when a fan buys it
    with pytest.raises(PassSoldOut) as refused:
        services.buy_pass(product_id=league.product.pk, user=fan, provider="sandbox", now=NOW)

    # then the error names the session, and nothing is held, no order, no pass
    assert refused.value.details == {"session": full.session.pk, "zone": full.zones["A"].pk}
    assert "Star City home" in str(refused.value.message) or "星城主场" in str(
        refused.value.message
    )
    assert Hold.objects.count() == holds_before
    assert not InventoryUnit.objects.filter(status=UnitStatus.HELD).exists()
    assert not Order.objects.exists()
    assert not Pass.objects.exists()


def test_standing_entitlements_are_taken_from_the_standing_area():
    league = make_league(matches=2, standing=True)
    sold, text = buy_and_pay(league)
    for entry in sold.entries.all():
        assert entry.unit.seat_id is None
        assert entry.order_line.section_code == "GA"
        assert judge(entry.session, text, AT_GATE).reason == checkin.VALID


def test_the_sale_window_and_the_per_account_limit_are_enforced():
    league = make_league(matches=2, max_per_account=1)
    fan = make_buyer()
    with pytest.raises(PassNotOnSale):
        services.buy_pass(
            product_id=league.product.pk,
            user=fan,
            provider="sandbox",
            now=FIRST_MATCH + timedelta(minutes=1),
        )
    services.buy_pass(product_id=league.product.pk, user=fan, provider="sandbox", now=NOW)
    with pytest.raises(PassLimitReached):
        services.buy_pass(product_id=league.product.pk, user=fan, provider="sandbox", now=NOW)
    # an unpaid pass whose order ran out no longer counts
    later = NOW + timedelta(minutes=services.PASS_HOLD_MINUTES + 1)
    services.buy_pass(product_id=league.product.pk, user=fan, provider="sandbox", now=later)
    assert Pass.objects.filter(user=fan).count() == 2


def test_releasing_a_match_puts_the_place_back_refuses_the_pass_there_and_books_the_credit():
    # given a paid pass of 900.00 over three matches, 50 % credit per released match
    league = make_league(matches=3, price="900.00", credit_value="50")
    sold, text = buy_and_pay(league)
    released, kept = league.sales[0], league.sales[1]
    entry = sold.entries.get(session=released.session)
    unit_id = entry.unit_id

    # when the holder releases the first match
    credit = services.release_match(
        pass_id=sold.pk, session_id=released.session.pk, user=sold.user, now=NOW
    )

    # then the place is on sale again, the credit is half the match's share
    unit = InventoryUnit.objects.get(pk=unit_id)
    assert unit.status == UnitStatus.AVAILABLE and unit.order_line_id is None
    assert credit.amount == Decimal("150.00")
    assert PassCredit.objects.get(sold_pass=sold).amount == Decimal("150.00")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.RELEASED
    assert Ticket.objects.get(pk=entry.ticket_id).status == TicketStatus.REVOKED

    # and the gate refuses the old QR at that session (online and offline), still admits
    # it at the others; the new QR no longer names that session
    assert judge(released.session, text, AT_GATE).reason == credentials.REVOKED
    assert offline_judge(released.session, text, AT_GATE) == ("revoked", None)
    assert judge(kept.session, text, AT_GATE).reason == checkin.VALID
    fresh = selectors.pass_credential(selectors.get_pass(user=sold.user, pass_id=sold.pk))
    assert judge(released.session, fresh, AT_GATE).reason == checkin.WRONG_SESSION
    assert judge(kept.session, fresh, AT_GATE).reason == checkin.VALID

    # and another fan can buy that place now
    other = make_buyer()
    from tessera.inventory.services import hold_units

    released.session.on_sale_from = NOW - timedelta(days=1)
    released.session.save()
    hold = hold_units(session=released.session, user=other, unit_ids=[unit_id], now=NOW)
    assert hold.status == HoldStatus.ACTIVE

    # and releasing it again is refused, nothing more is booked
    with pytest.raises(MatchNotReleasable):
        services.release_match(
            pass_id=sold.pk, session_id=released.session.pk, user=sold.user, now=NOW
        )
    assert PassCredit.objects.count() == 1


def test_a_fixed_credit_never_exceeds_the_matchs_share():
    league = make_league(matches=2, price="100.00", credit_kind="fixed", credit_value="80")
    sold, _text = buy_and_pay(league)
    credit = services.release_match(
        pass_id=sold.pk, session_id=league.sessions[0].pk, user=sold.user, now=NOW
    )
    assert credit.amount == Decimal("50.00")


def test_a_match_entered_or_started_or_not_yours_cannot_be_released():
    import uuid

    league = make_league(matches=2)
    sold, text = buy_and_pay(league)
    with pytest.raises(PassNotFound):
        services.release_match(
            pass_id=sold.pk, session_id=league.sessions[0].pk, user=make_buyer(), now=NOW
        )
    with pytest.raises(MatchNotReleasable):
        services.release_match(
            pass_id=sold.pk,
            session_id=league.sessions[0].pk,
            user=sold.user,
            now=FIRST_MATCH + timedelta(minutes=1),
        )
    with pytest.raises(MatchNotReleasable):
        services.release_match(
            pass_id=sold.pk, session_id=league.outsider.session.pk, user=sold.user, now=NOW
        )
    device, _t = checkin.register_device(organization=league.organization, name="G", now=NOW)
    second = league.sessions[1]
    checkin.scan_online(
        device=device,
        session=second,
        gate_id=None,
        direction=Direction.ENTRY,
        text=text,
        scan_uuid=uuid.uuid4(),
        now=second.starts_at - timedelta(hours=1),
    )
    with pytest.raises(MatchNotReleasable):
        services.release_match(
            pass_id=sold.pk,
            session_id=second.pk,
            user=sold.user,
            now=second.starts_at - timedelta(minutes=30),
        )
    assert not PassCredit.objects.exists()


def test_issue_tickets_of_an_ordinary_order_is_unchanged():
    from tessera.tickets.tests.factories import make_paid_order

    order = make_paid_order(seats=2)
    issued = issue_tickets(order=order, now=NOW)
    assert {t.session_id for t in issued} == {order.session_id}


def test_a_pass_ticket_is_neither_returned_nor_transferred_on_its_own():
    from tessera.aftersales.services import run_ticket_return_guards
    from tessera.passes.errors import PassTicket
    from tessera.passes.guards import refuse_pass_transfers

    league = make_league(matches=2)
    sold, _text = buy_and_pay(league)
    entry = sold.entries.all()[0]
    with pytest.raises(PassTicket):
        run_ticket_return_guards([entry.ticket_id], now=NOW)
    with pytest.raises(PassTicket):
        refuse_pass_transfers(
            ticket=entry.ticket,
            session=entry.session,
            sender=sold.user,
            recipient=None,
            step="send",
            now=NOW,
        )
    # an ordinary ticket passes the pass guards (here, one of an ordinary order)
    from tessera.tickets.tests.factories import make_paid_order

    ordinary = issue_tickets(order=make_paid_order(seats=1), now=NOW)[0]
    run_ticket_return_guards([ordinary.pk], now=NOW)
    refuse_pass_transfers(
        ticket=ordinary, session=ordinary.session, sender=None, recipient=None, step="send", now=NOW
    )


def test_a_pass_with_a_cancelled_session_is_not_sold():
    from tessera.catalog.models import SessionStatus

    league = make_league(matches=2)
    league.sessions[1].status = SessionStatus.CANCELLED
    league.sessions[1].save(update_fields=["status"])
    with pytest.raises(PassNotOnSale) as refused:
        services.buy_pass(
            product_id=league.product.pk, user=make_buyer(), provider="sandbox", now=NOW
        )
    assert refused.value.details == {"session": league.sessions[1].pk}
    assert not Hold.objects.exists() and not Order.objects.exists()


def test_a_session_that_passes_cover_is_not_cancelled():
    from tessera.catalog.services import cancel_session
    from tessera.passes.errors import SessionHasPasses

    league = make_league(matches=2)
    sold, _text = buy_and_pay(league)
    second = league.sessions[1]  # not the order's own session
    with pytest.raises(SessionHasPasses):
        cancel_session(session=second, actor=None, now=NOW)
    second.refresh_from_db()
    assert second.status != "cancelled"
    services.release_match(pass_id=sold.pk, session_id=second.pk, user=sold.user, now=NOW)
    cancel_session(session=second, actor=None, now=NOW)
    second.refresh_from_db()
    assert second.status == "cancelled"


def test_a_pass_ticket_is_not_listed_on_the_official_resale():
    from tessera.passes.errors import PassTicket
    from tessera.resale import services as resale
    from tessera.resale.models import Listing, ResalePolicy

    league = make_league(matches=2)
    sold, _text = buy_and_pay(league)
    entry = sold.entries.select_related("ticket", "session").all()[0]
    ResalePolicy.objects.create(event=entry.session.event, is_allowed=True, updated_at=NOW)
    with pytest.raises(PassTicket):
        resale.list_ticket(
            ticket_public_id=entry.ticket.public_id,
            user=sold.user,
            price=entry.ticket.order_line.price,
            now=NOW,
        )
    assert not Listing.objects.exists()
