"""Money back on a pass: a released match's credit paid to the pass's payment, the holder
returning the whole pass, the organizer cancelling it, and a covered session cancelled or
postponed or moved to another venue by an after-sales change (the change's job deals with
the pass's entry there, once, and leaves the pass valid for its other matches)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase

from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.models import ChangeStatus, SessionChange
from tessera.aftersales.tests.factories import bought
from tessera.catalog.models import SessionStatus
from tessera.checkin import services as checkin
from tessera.checkin.models import Direction, Presence
from tessera.core.errors import DomainError
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import LedgerEntry, Order, OrderLine, OrderStatus
from tessera.passes import selectors, services
from tessera.passes.errors import MatchNotReleasable, PassNotActive, PassNotReturnable
from tessera.passes.models import EntryStatus, PassEntry, PassStatus
from tessera.passes.tests.factories import FIRST_MATCH, NOW, buy_and_pay, make_league
from tessera.payments import services as payments
from tessera.payments.models import Refund, RefundStatus
from tessera.tickets import credentials
from tessera.tickets.models import Ticket, TicketStatus
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db
D = Decimal
AT_GATE = FIRST_MATCH - timedelta(hours=1)


def judge(session, text, now=AT_GATE):
    rules = checkin.load_rules(session)
    return checkin.judge_code(text, rules=rules, gate_id=None, direction=Direction.ENTRY, now=now)


def ledger_sum(order) -> Decimal:
    return sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True), D(0))


def refunded(order) -> Decimal:
    return sum(
        Refund.objects.filter(payment__order=order, status=RefundStatus.SUCCEEDED).values_list(
            "amount", flat=True
        ),
        D(0),
    )


def fresh_credential(sold):
    return selectors.pass_credential(selectors.get_pass(user=sold.user, pass_id=sold.pk))


def test_a_released_matchs_credit_is_paid_back_to_the_passs_payment():
    league = make_league(matches=3, price="900.00", credit_value="50")
    sold, _text = buy_and_pay(league)

    with TestCase.captureOnCommitCallbacks(execute=True):
        credit = services.release_match(
            pass_id=sold.pk, session_id=league.sessions[0].pk, user=sold.user, now=NOW
        )

    order = Order.objects.get(pk=sold.order_id)
    assert credit.amount == D("150.00") and credit.reference
    # the provider gave the credit back; the ledger holds exactly what the provider holds
    assert refunded(order) == D("150.00")
    assert ledger_sum(order) == D("750.00")
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert payments.check_ledgers(now=NOW).differences == 0
    # the pass is still active for the two other matches
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE
    assert judge(league.sessions[1], fresh_credential(sold)).reason == checkin.VALID


def test_a_zero_credit_release_sends_no_money():
    league = make_league(matches=2, price="100.00", credit_value="0")
    sold, _text = buy_and_pay(league)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.release_match(
            pass_id=sold.pk, session_id=league.sessions[0].pk, user=sold.user, now=NOW
        )
    order = Order.objects.get(pk=sold.order_id)
    assert Refund.objects.filter(payment__order=order).count() == 0
    assert ledger_sum(order) == D("100.00")


def test_the_holder_returns_the_whole_pass_before_the_first_match():
    # given a 900.00 pass over three matches with a 10 % return fee, one match released
    league = make_league(matches=3, price="900.00", credit_value="50")
    league.product.return_fee_percent = D("10")
    league.product.save()
    sold, text = buy_and_pay(league)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.release_match(
            pass_id=sold.pk, session_id=league.sessions[0].pk, user=sold.user, now=NOW
        )
    sold.refresh_from_db()
    quote = services.quote_return(pass_=sold, now=NOW)
    assert (quote.shares, quote.fee, quote.refund, quote.sessions) == (
        D("600.00"),
        D("60.00"),
        D("540.00"),
        2,
    )

    # when the holder returns it
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = services.return_pass(pass_id=sold.pk, user=sold.user, now=NOW)

    # then the two matches still held are refunded less the fee, on top of the credit
    assert result.refund == D("540.00")
    order = Order.objects.get(pk=sold.order_id)
    assert refunded(order) == D("150.00") + D("540.00")
    assert ledger_sum(order) == D("900.00") - D("690.00")
    assert order.status == OrderStatus.REFUNDED
    assert payments.check_ledgers(now=NOW).differences == 0
    # every ticket is revoked, every place back on sale, the pass is cancelled
    sold.refresh_from_db()
    assert sold.status == PassStatus.CANCELLED
    entries = list(sold.entries.all())
    assert {e.status for e in entries} == {EntryStatus.RELEASED, EntryStatus.REFUNDED}
    assert set(
        Ticket.objects.filter(pk__in=[e.ticket_id for e in entries]).values_list(
            "status", flat=True
        )
    ) == {TicketStatus.REVOKED}
    assert set(
        InventoryUnit.objects.filter(pk__in=[e.unit_id for e in entries]).values_list(
            "status", flat=True
        )
    ) == {UnitStatus.AVAILABLE}
    # the old QR code is refused at every gate; there is no new one
    for session in league.sessions:
        assert judge(session, text).reason == credentials.REVOKED
    assert fresh_credential(sold) is None
    # and returning it again is refused, nothing more is booked
    with pytest.raises(PassNotActive):
        services.return_pass(pass_id=sold.pk, user=sold.user, now=NOW)
    assert refunded(order) == D("690.00")


def test_a_pass_is_not_returned_once_its_first_match_has_started_nor_by_another_fan():
    league = make_league(matches=2, price="100.00")
    sold, _text = buy_and_pay(league)
    with pytest.raises(services.PassNotFound):
        services.return_pass(pass_id=sold.pk, user=make_buyer(), now=NOW)
    with pytest.raises(PassNotReturnable):
        services.return_pass(pass_id=sold.pk, user=sold.user, now=FIRST_MATCH + timedelta(hours=1))
    league.product.holder_may_return = False
    league.product.save()
    with pytest.raises(PassNotReturnable):
        services.return_pass(pass_id=sold.pk, user=sold.user, now=NOW)
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE
    assert ledger_sum(Order.objects.get(pk=sold.order_id)) == D("100.00")


def test_the_organizer_cancels_a_pass_after_its_first_match_the_rest_is_refunded_in_full():
    league = make_league(matches=3, price="900.00")
    sold, text = buy_and_pay(league)
    organizer = make_member(organization=league.organization, role="owner")
    after_first = league.sessions[0].starts_at + timedelta(hours=3)

    with TestCase.captureOnCommitCallbacks(execute=True):
        back = services.cancel_pass(pass_=sold, actor=organizer, reason="违约", now=after_first)

    # the first match was played: the two others' shares come back in full
    assert back == D("600.00")
    order = Order.objects.get(pk=sold.order_id)
    assert refunded(order) == D("600.00") and ledger_sum(order) == D("300.00")
    assert payments.check_ledgers(now=after_first).differences == 0
    sold.refresh_from_db()
    assert sold.status == PassStatus.CANCELLED
    assert judge(league.sessions[1], text, after_first).reason == credentials.REVOKED
    # cancelling again does nothing more
    assert services.cancel_pass(pass_=sold, actor=organizer, reason="again", now=after_first) == 0
    assert refunded(order) == D("600.00")
    with pytest.raises(DomainError):
        services.cancel_pass(pass_=sold, actor=organizer, reason=" \x00 ", now=after_first)


def test_an_entry_used_at_the_gate_is_not_refunded():
    league = make_league(matches=2, price="100.00")
    sold, _text = buy_and_pay(league)
    session = league.sessions[0]
    # the holder entered the first match with the pass
    entry = sold.entries.get(session=session)
    Presence.objects.update_or_create(
        session=session, ticket_id=entry.ticket_id, defaults={"entries": 1, "is_inside": True}
    )
    with pytest.raises(MatchNotReleasable):
        services.cancel_pass(pass_=sold, actor=None, reason="x", now=NOW)
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE


def _start_cancel(league, session, organizer):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return changes.start_cancellation(
            session=session, actor=organizer, reason="场馆维修", now=NOW
        )


def _run(change, limit=2):
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: NOW, limit=limit)


def test_cancelling_a_covered_session_refunds_each_passs_share_there_and_only_there():
    # given three pass holders and a fan with a plain order at the second match
    league = make_league(matches=3, price="900.00", seats_per_row=6)
    holders = [buy_and_pay(league)[0] for _ in range(3)]
    session = league.sessions[1]
    plain = bought(league.sales[1], make_buyer(), [5, 6], NOW)
    organizer = make_member(organization=league.organization, role="owner")

    # when the organizer cancels that match (the plain cancel path refuses it)
    change = _start_cancel(league, session, organizer)
    assert change.total == 1 + 3  # one plain order, three pass entries
    _run(change, limit=1)

    # then the plain order is refunded in full, each pass its 300.00 share there
    change.refresh_from_db()
    assert change.status == ChangeStatus.DONE
    assert (change.done, change.failed, change.total) == (4, 0, 4)
    assert Order.objects.get(pk=plain.pk).status == OrderStatus.REFUNDED
    for sold in holders:
        order = Order.objects.get(pk=sold.order_id)
        assert refunded(order) == D("300.00") and ledger_sum(order) == D("600.00")
        assert order.status == OrderStatus.PARTIALLY_REFUNDED
        sold.refresh_from_db()
        assert sold.status == PassStatus.ACTIVE
        entry = sold.entries.get(session=session)
        assert entry.status == EntryStatus.REFUNDED and entry.last_change_id == change.pk
        assert Ticket.objects.get(pk=entry.ticket_id).status == TicketStatus.REVOKED
        # the pass still admits at the two other matches and no longer names this one
        fresh = fresh_credential(sold)
        assert judge(league.sessions[0], fresh).reason == checkin.VALID
        assert judge(session, fresh).reason == checkin.WRONG_SESSION
    assert payments.check_ledgers(now=NOW).differences == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED

    # and running the change again, or starting it again, refunds nothing more
    _run(change)
    assert _start_cancel(league, session, organizer).pk == change.pk
    assert sum(refunded(Order.objects.get(pk=s.order_id)) for s in holders) == D("900.00")
    assert SessionChange.objects.get(pk=change.pk).done == 4


def test_a_cancellation_stopped_halfway_resumes_with_the_pass_entries_left():
    league = make_league(matches=2, price="200.00", seats_per_row=6)
    holders = [buy_and_pay(league)[0] for _ in range(4)]
    organizer = make_member(organization=league.organization, role="owner")
    # started without its first task running (as when no worker is up)
    change = changes.start_cancellation(
        session=league.sessions[0], actor=organizer, reason="场馆维修", now=NOW
    )
    # one batch of two entries, as a worker killed after it would leave it
    with TestCase.captureOnCommitCallbacks(execute=True):
        left = changes.run_batch(change_id=change.pk, now=NOW, limit=2)
    assert left == 2
    assert SessionChange.objects.get(pk=change.pk).done == 2
    _run(change)
    change.refresh_from_db()
    assert (change.status, change.done, change.total) == (ChangeStatus.DONE, 4, 4)
    for sold in holders:
        assert refunded(Order.objects.get(pk=sold.order_id)) == D("100.00")


def test_postponing_a_covered_session_redates_the_passs_ticket_there():
    league = make_league(matches=2, price="200.00")
    sold, old_text = buy_and_pay(league)
    organizer = make_member(organization=league.organization, role="owner")
    session = league.sessions[0]
    entry = sold.entries.get(session=session)
    version = Ticket.objects.get(pk=entry.ticket_id).version
    new_date = session.starts_at + timedelta(days=30)

    with TestCase.captureOnCommitCallbacks(execute=True):
        change = changes.start_postponement(
            session=session,
            actor=organizer,
            reason="天气",
            new_starts_at=new_date,
            refund_until=None,
            now=NOW,
        )
    _run(change)

    change.refresh_from_db()
    assert (change.status, change.done, change.total) == (ChangeStatus.DONE, 1, 1)
    assert Ticket.objects.get(pk=entry.ticket_id).version == version + 1
    # the new QR code admits on the new date; the old one is refused there
    fresh = fresh_credential(sold)
    at_new_gate = new_date - timedelta(hours=1)
    assert judge(session, fresh, at_new_gate).reason == checkin.VALID
    assert judge(session, old_text, at_new_gate).reason == credentials.REVOKED
    # no money moved
    assert refunded(Order.objects.get(pk=sold.order_id)) == 0


def test_moving_a_covered_session_gives_each_pass_a_place_at_the_new_venue():
    # given two pass holders and a fan with a plain order at the first match
    league = make_league(matches=2, price="200.00", seats_per_row=6)
    holders = [buy_and_pay(league) for _ in range(2)]
    session = league.sessions[0]
    plain = bought(league.sales[0], make_buyer(), [5, 6], NOW)
    organizer = make_member(organization=league.organization, role="owner")
    arena = make_layout(venue=make_venue(name="星光体育馆"), sections=1, rows=2, seats_per_row=5)
    [new_section] = Section.objects.filter(layout=arena)
    entry_ids = [sold.entries.get(session=session).pk for sold, _text in holders]

    # when the organizer moves that match to the arena (its job not yet run)
    change = changes.start_move(
        session=session,
        layout=arena,
        zones={new_section.pk: league.sales[0].zones["A"].pk},
        section_map=None,
        refund_until=None,
        actor=organizer,
        reason="场馆维修",
        now=NOW,
    )
    assert change.total == 1 + 2  # one plain order, two pass entries
    # while the job runs, the arena's places are kept for the ticket holders
    new_units = InventoryUnit.objects.filter(session=session, section=new_section)
    assert new_units.filter(status=UnitStatus.AVAILABLE).count() == 0
    _run(change, limit=1)

    # then every ticket holder has a place at the arena, the rest is on sale
    change.refresh_from_db()
    assert (change.status, change.done, change.failed) == (ChangeStatus.DONE, 3, 0)
    assert new_units.filter(status=UnitStatus.SOLD).count() == 2 + 2
    assert new_units.filter(status=UnitStatus.AVAILABLE).count() == 10 - 4
    for (sold, old_text), entry_id in zip(holders, entry_ids, strict=True):
        entry = PassEntry.objects.select_related("order_line", "unit").get(pk=entry_id)
        assert entry.last_change_id == change.pk and entry.status == EntryStatus.ACTIVE
        assert entry.unit.section_id == new_section.pk
        assert entry.order_line.unit_id == entry.unit_id
        ticket = Ticket.objects.get(pk=entry.ticket_id)
        assert (ticket.unit_id, ticket.status) == (entry.unit_id, TicketStatus.VALID)
        # the pass's new QR code admits at the arena; the old one is refused there; the
        # other match is untouched
        fresh = fresh_credential(sold)
        assert judge(session, fresh).reason == checkin.VALID
        assert judge(session, old_text).reason == credentials.REVOKED
        assert judge(league.sessions[1], fresh, league.sessions[1].starts_at).reason == (
            checkin.VALID
        )
        assert refunded(Order.objects.get(pk=sold.order_id)) == 0
    # the plain order moved with them; nobody holds a place twice
    assert {line.unit.section_id for line in OrderLine.objects.filter(order=plain)} == {
        new_section.pk
    }
    lines = list(new_units.filter(status=UnitStatus.SOLD).values_list("order_line_id", flat=True))
    assert len(set(lines)) == 4

    # and running it again moves nothing more
    before = list(PassEntry.objects.order_by("pk").values_list("pk", "unit_id"))
    _run(change)
    assert list(PassEntry.objects.order_by("pk").values_list("pk", "unit_id")) == before
    assert SessionChange.objects.get(pk=change.pk).done == 3
