"""The waiting room through its services, on both backends: fairness of the pre-queue,
first come first served after it, one entry per account, the status check that reads
nothing, passes (expiry, other account, other on-sale) enforced on every hold, pause and
resume, sell-out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.waitingroom import services, status
from tessera.waitingroom.errors import (
    AdmissionExpired,
    AdmissionForeign,
    AdmissionInvalid,
    AdmissionRequired,
    QueueTokenInvalid,
    RoomNotJoinable,
)
from tessera.waitingroom.models import RateMode, RoomStatus, WaitingRoom
from tessera.waitingroom.signing import AdmissionPass, QueueToken
from tessera.waitingroom.tests.factories import make_room

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def fresh(room: WaitingRoom) -> WaitingRoom:
    status.clear_views()
    room.refresh_from_db()
    return room


def check(token: str, now):
    status.clear_views()
    return status.check_status(token, now=now)


def open_at(room, now):
    """Advance at ``now`` (opening the room when its time has come)."""
    room = fresh(room)
    services.advance_room(room=room, now=now)
    return fresh(room)


# -- tokens ----------------------------------------------------------------------------------


def test_a_tampered_queue_token_is_refused():
    token = QueueToken(room_id=3, entry_id=41, position=1200, user_id=7).sign()
    assert QueueToken.verify(token) == QueueToken(3, 41, 1200, 7)
    forged = token.replace(".1200.", ".1.")
    assert QueueToken.verify(forged) is None
    assert QueueToken.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert QueueToken.verify("q1.3.41.01200.7." + token.rsplit(".", 1)[1]) is None
    assert QueueToken.verify("garbage") is None
    # a pass is signed under another key: its shape and MAC never make a token
    a_pass = AdmissionPass(3, 7, 2_000_000_000).sign()
    assert QueueToken.verify(a_pass) is None
    assert AdmissionPass.verify(a_pass) == AdmissionPass(3, 7, 2_000_000_000)
    assert AdmissionPass.verify(a_pass.replace(".7.", ".8.")) is None


def test_status_of_a_tampered_token_raises_and_changes_nothing(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=-1)
    fan = make_buyer()
    joined = services.join_queue(room=room, user=fan, now=NOW)
    body, _mac = joined.token.rsplit(".", 1)
    with pytest.raises(QueueTokenInvalid):
        check(body + ".AAAAAAAAAAAAAAAAAAAAAA", NOW)
    with pytest.raises(QueueTokenInvalid):
        check(joined.token.replace(f".{joined.entry.position}.", ".999999."), NOW)
    assert backend.counters(room.pk, with_entries=True).entries == 1


# -- joining -----------------------------------------------------------------------------------


def test_one_entry_per_account_and_rejoining_returns_the_same_place(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=-1)
    ann, bob = make_buyer(), make_buyer()
    first = services.join_queue(room=room, user=ann, now=NOW)
    again = services.join_queue(room=room, user=ann, now=NOW + timedelta(seconds=30))
    other = services.join_queue(room=room, user=bob, now=NOW + timedelta(seconds=31))
    assert first.entry.is_new and not again.entry.is_new
    assert (again.entry.entry_id, again.entry.position) == (first.entry.entry_id, 1)
    assert again.token == first.token
    assert other.entry.position == 2
    assert backend.counters(room.pk, with_entries=True).entries == 2
    assert backend.counters(room.pk, with_entries=True).last_position == 2


def test_joining_before_the_pre_queue_or_after_a_sell_out_is_refused(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, prequeue_minutes=-5, opens_in_minutes=10)
    with pytest.raises(RoomNotJoinable):
        services.join_queue(room=room, user=make_buyer(), now=NOW)
    WaitingRoom.objects.filter(pk=room.pk).update(status=RoomStatus.SOLD_OUT)
    with pytest.raises(RoomNotJoinable):
        services.join_queue(room=fresh(room), user=make_buyer(), now=NOW + timedelta(hours=1))
    assert backend.counters(room.pk, with_entries=True).entries == 0


def test_pre_queue_gets_places_at_opening_and_later_arrivals_line_up_after(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=5)
    early = [make_buyer() for _ in range(6)]
    tokens = [services.join_queue(room=room, user=f, now=NOW).token for f in early]
    # before opening every pre-queue token says: pre-queue, no place yet, a countdown
    before = check(tokens[0], NOW)
    assert (before["state"], before["position"], before["opens_in_seconds"]) == (
        "prequeue",
        None,
        300,
    )
    opening = NOW + timedelta(minutes=5)
    room = open_at(room, opening)
    late = [make_buyer() for _ in range(3)]
    late_positions = [
        services.join_queue(room=room, user=f, now=opening + timedelta(seconds=i)).entry.position
        for i, f in enumerate(late)
    ]
    early_positions = sorted(check(t, opening + timedelta(seconds=5))["position"] for t in tokens)
    assert early_positions == [1, 2, 3, 4, 5, 6]
    assert late_positions == [7, 8, 9]


def _one_pre_queue_run(backend, room_id: int, fans: int) -> list[int]:
    """Positions at opening of ``fans`` accounts that joined the pre-queue in order."""
    entries = [backend.join(room_id, user_id, now=NOW).entry_id for user_id in range(1, fans + 1)]
    backend.order_prequeue(room_id, now=NOW)
    return [backend.position_of(room_id, e) for e in entries]


@pytest.mark.parametrize("runs", [600])
def test_pre_queue_order_is_a_uniform_random_permutation(backend, runs):
    # given five fans joining the pre-queue in the same order, run after run (the random
    # keys come from the operating system's CSPRNG: no seed, so the test sees the real
    # thing; the threshold is the chi-square 0.1% point, one false alarm in a thousand)
    sale = make_sale()
    room = make_room(sale=sale, now=NOW)
    fans = 5
    counts = [[0] * fans for _ in range(fans)]  # counts[join order][position - 1]
    first_places = []
    for _run in range(runs):
        positions = _one_pre_queue_run(backend, room.pk, fans)
        # then each run is a permutation of 1..5
        assert sorted(positions) == [1, 2, 3, 4, 5]
        for order, position in enumerate(positions):
            counts[order][position - 1] += 1
        first_places.append(positions[0])
        backend.forget(room.pk)
        WaitingRoom.objects.filter(pk=room.pk).update(prequeue_ordered_at=None, last_position=0)
    expected = runs / fans
    chi_square = sum((c - expected) ** 2 / expected for row in counts for c in row)
    # (5 - 1)² = 16 degrees of freedom; P(χ² > 39.25) = 0.001
    assert chi_square < 39.25, counts
    # and arriving first brings no advantage: the first joiner's mean place is 3 ± noise
    # (standard error sqrt(2 / runs) ≈ 0.058; 5 standard errors)
    assert abs(sum(first_places) / runs - 3) < 0.29


def test_no_fan_is_ever_admitted_ahead_of_a_lower_position(backend):
    sale = make_sale(sections=2, rows=5, seats_per_row=10)
    room = make_room(
        sale=sale, now=NOW, opens_in_minutes=1, rate_per_minute=7, max_active_shoppers=1000
    )
    fans = [make_buyer() for _ in range(25)]
    tokens = {f.pk: services.join_queue(room=room, user=f, now=NOW).token for f in fans}
    opening = NOW + timedelta(minutes=1)
    room = open_at(room, opening)
    later = [make_buyer() for _ in range(10)]
    tokens |= {f.pk: services.join_queue(room=room, user=f, now=opening).token for f in later}
    seen_watermarks = []
    for step in range(1, 8):
        at = opening + timedelta(seconds=20 * step)
        room = open_at(room, at)
        results = [check(t, at) for t in tokens.values()]
        admitted = sorted(r["position"] for r in results if r["admitted"])
        waiting = sorted(r["position"] for r in results if not r["admitted"])
        # the admitted are exactly positions 1..watermark; nobody waiting is below them
        watermark = results[0]["watermark"]
        assert admitted == list(range(1, watermark + 1))
        assert not waiting or waiting[0] == watermark + 1
        assert all(
            r["people_ahead"] == r["position"] - watermark - 1 for r in results if not r["admitted"]
        )
        seen_watermarks.append(watermark)
    # 7 fans a minute, 20 s steps: 2, 4, 7, 9, 11, 14, 16 (time not used is carried over)
    assert seen_watermarks == [2, 4, 7, 9, 11, 14, 16]


# -- the cheap status check -------------------------------------------------------------------


def test_status_check_on_a_warm_view_reads_nothing(backend, django_assert_num_queries, client):
    sale = make_sale()
    # open for a minute at one fan a minute: the lazy advance lets exactly one in
    now = timezone.now()
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=1)
    fans = [make_buyer() for _ in range(3)]
    joined = [services.join_queue(room=room, user=f, now=now) for f in fans]
    status.clear_views()
    status.check_status(joined[2].token, now=now)  # warms this process's view
    with django_assert_num_queries(0):
        result = status.check_status(joined[2].token, now=now)
    assert (result["position"], result["watermark"], result["people_ahead"]) == (3, 1, 1)
    assert result["estimated_wait_seconds"] == 120
    with django_assert_num_queries(0):
        response = client.get("/queue/-/status", {"t": joined[2].token})
    assert response.json()["position"] == 3


def test_admitted_fan_gets_a_pass_bound_to_the_account_with_a_fixed_expiry(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=-1, rate_per_minute=60, pass_minutes=10)
    fan = make_buyer()
    joined = services.join_queue(room=room, user=fan, now=NOW)
    room = open_at(room, NOW + timedelta(seconds=1))
    first = check(joined.token, NOW + timedelta(seconds=2))
    later = check(joined.token, NOW + timedelta(minutes=5))
    assert first["admitted"] and later["admitted"]
    assert first["buy_urls"] == [f"/sessions/{sale.session.pk}/buy/"]
    # asking again never extends the pass: it runs from admission time
    assert first["admission_pass"] == later["admission_pass"]
    parsed = AdmissionPass.verify(first["admission_pass"])
    assert parsed.user_id == fan.pk and parsed.room_id == room.pk
    assert first["pass_expires_at"] == int((NOW + timedelta(seconds=1, minutes=10)).timestamp())
    # after ten minutes the place is spent
    expired = check(joined.token, NOW + timedelta(minutes=10, seconds=2))
    assert (expired["state"], expired["admitted"], expired["admission_pass"]) == (
        "expired",
        False,
        None,
    )


# -- enforcement on holds -----------------------------------------------------------------------


def _admitted(room, fan, now):
    joined = services.join_queue(room=room, user=fan, now=now)
    open_at(room, now + timedelta(seconds=1))
    result = check(joined.token, now + timedelta(seconds=1))
    assert result["admitted"]
    return result["admission_pass"]


def test_holds_need_the_buyers_own_valid_pass(backend):
    now = timezone.now().replace(microsecond=0)
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=600, pass_minutes=5)
    other_sale = make_sale()
    other_room = make_room(sale=other_sale, now=now, opens_in_minutes=-1, rate_per_minute=600)
    fan, friend = make_buyer(), make_buyer()
    a_pass = _admitted(room, fan, now)
    other_pass = _admitted(other_room, fan, now)
    zone = sale.zones["A"]

    def hold(user, given, at):
        return inventory.hold_quantity(
            session=sale.session, user=user, zone=zone, quantity=2, now=at, admission_pass=given
        )

    cases = [
        (fan, None, now, AdmissionRequired, "admission_required"),
        (fan, "a1.1.2.3.bad", now, AdmissionInvalid, "admission_invalid"),
        (friend, a_pass, now, AdmissionForeign, "admission_foreign"),
        (fan, other_pass, now, AdmissionForeign, "admission_foreign"),
        (fan, a_pass, now + timedelta(minutes=6), AdmissionExpired, "admission_expired"),
    ]
    for user, given, at, error, code in cases:
        with pytest.raises(error) as caught:
            hold(user, given, at)
        assert (caught.value.code, caught.value.status) == (code, 403)
    assert Hold.objects.count() == 0
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0
    # with the fan's own pass, in time, the hold goes through
    held = hold(fan, a_pass, now + timedelta(minutes=1))
    assert held.units.count() == 2


def test_a_closed_room_no_longer_asks_for_a_pass(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=-1)
    services.close_room(room=room, actor=None, now=NOW)
    hold = inventory.hold_quantity(
        session=sale.session, user=make_buyer(), zone=sale.zones["A"], quantity=1, now=NOW
    )
    assert hold.units.count() == 1


# -- organizer controls, sell-out -------------------------------------------------------------


def test_pause_stops_admission_and_resume_starts_it_again(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=0, rate_per_minute=60)
    tokens = [services.join_queue(room=room, user=make_buyer(), now=NOW).token for _ in range(10)]
    room = open_at(room, NOW + timedelta(seconds=3))
    assert backend.counters(room.pk, with_entries=True).watermark == 3
    services.pause_room(room=room, actor=None, now=NOW + timedelta(seconds=3))
    room = open_at(room, NOW + timedelta(seconds=30))
    paused = check(tokens[5], NOW + timedelta(seconds=30))
    assert (paused["state"], paused["watermark"], paused["people_ahead"]) == ("paused", 3, 2)
    services.resume_room(room=fresh(room), actor=None, now=NOW + timedelta(seconds=40))
    room = open_at(room, NOW + timedelta(seconds=42))
    # the 37 paused seconds are not made up: 2 more, not 39
    assert backend.counters(room.pk, with_entries=True).watermark == 5
    assert check(tokens[4], NOW + timedelta(seconds=42))["admitted"] is True


def test_shoppers_beyond_the_maximum_wait(backend):
    sale = make_sale()
    room = make_room(
        sale=sale, now=NOW, opens_in_minutes=-1, rate_per_minute=600, max_active_shoppers=4
    )
    for _ in range(10):
        services.join_queue(room=room, user=make_buyer(), now=NOW)
    room = open_at(room, NOW + timedelta(minutes=1))
    assert backend.counters(room.pk, with_entries=True).watermark == 4
    room = open_at(room, NOW + timedelta(minutes=2))
    assert backend.counters(room.pk, with_entries=True).watermark == 4
    # once the first passes run out (15 minutes), four more come in
    room = open_at(room, NOW + timedelta(minutes=16, seconds=1))
    assert backend.counters(room.pk, with_entries=True).watermark == 8


def test_automatic_mode_follows_free_places(backend):
    sale = make_sale(sections=1, rows=1, seats_per_row=6)
    room = make_room(
        sale=sale,
        now=NOW,
        opens_in_minutes=0,
        rate_mode=RateMode.AUTOMATIC,
        max_active_shoppers=100,
    )
    for _ in range(20):
        services.join_queue(room=room, user=make_buyer(), now=NOW)
    room = open_at(room, NOW + timedelta(minutes=1))
    # six free places, two tickets a fan: three fans a minute
    assert (room.current_rate, backend.counters(room.pk, with_entries=True).watermark) == (3, 3)


def test_sell_out_stops_admission_and_tells_the_queue(backend):
    sale = make_sale(sections=1, rows=1, seats_per_row=2)
    room = make_room(sale=sale, now=NOW, opens_in_minutes=-1, rate_per_minute=1)
    tokens = [services.join_queue(room=room, user=make_buyer(), now=NOW).token for _ in range(3)]
    unit_ids = list(sale.units().values_list("id", flat=True))
    inventory.block_units(
        session=sale.session, unit_ids=unit_ids, reason="test", actor=None, now=NOW
    )
    room = open_at(room, NOW + timedelta(minutes=1))
    assert room.status == RoomStatus.SOLD_OUT
    assert backend.counters(room.pk, with_entries=True).watermark == 0
    told = check(tokens[2], NOW + timedelta(minutes=1))
    assert (told["state"], told["sold_out"], told["admitted"]) == ("sold_out", True, False)
    with pytest.raises(RoomNotJoinable):
        services.join_queue(room=room, user=make_buyer(), now=NOW + timedelta(minutes=1))


def test_a_pre_queue_paused_before_opening_stays_unordered_until_the_opening(backend):
    sale = make_sale()
    room = make_room(sale=sale, now=NOW, opens_in_minutes=5)
    services.join_queue(room=room, user=make_buyer(), now=NOW)
    services.pause_room(room=room, actor=None, now=NOW)
    services.join_queue(room=fresh(room), user=make_buyer(), now=NOW + timedelta(minutes=1))
    room = open_at(room, NOW + timedelta(minutes=2))
    counters = backend.counters(room.pk, with_entries=True)
    assert (counters.entries, counters.last_position, counters.is_ordered) == (2, 0, False)
    services.resume_room(room=room, actor=None, now=NOW + timedelta(minutes=6))
    room = open_at(room, NOW + timedelta(minutes=6))
    assert backend.counters(room.pk, with_entries=True).last_position == 2
    assert room.prequeue_ordered_at == NOW + timedelta(minutes=6)


def test_a_room_whose_view_is_being_read_does_not_hold_up_another_room():
    now = timezone.now()
    first = make_room(sale=make_sale(), now=now, opens_in_minutes=-1)
    second = make_room(sale=make_sale(), now=now, opens_in_minutes=-1)
    status.get_view(first.pk, now)  # creates the first room's refresh lock
    with status._refreshing[first.pk]:  # another thread is reading the first room
        view = status.get_view(second.pk, now)
    assert view is not None and view.room_id == second.pk
