"""The automatic admission rate and the admissions due per step: pure functions."""

from tessera.waitingroom.rate import admissions_due, automatic_rate


def test_automatic_rate_admits_the_headroom_when_places_are_plenty():
    assert automatic_rate(max_active=500, active=100, places_free=10_000, places_held=0) == 400


def test_automatic_rate_is_zero_when_shoppers_are_at_the_maximum_or_nothing_is_free():
    assert automatic_rate(max_active=500, active=500, places_free=10_000, places_held=0) == 0
    assert automatic_rate(max_active=500, active=600, places_free=10_000, places_held=0) == 0
    assert automatic_rate(max_active=500, active=0, places_free=0, places_held=40) == 0


def test_automatic_rate_never_admits_more_fans_than_the_free_places_serve():
    # 30 free places at 2 tickets a fan serve 15 fans
    assert automatic_rate(max_active=500, active=0, places_free=30, places_held=0) == 15
    assert automatic_rate(max_active=500, active=0, places_free=31, places_held=0) == 16


def test_automatic_rate_falls_as_holds_pile_up():
    rates = [
        automatic_rate(max_active=1000, active=0, places_free=5000, places_held=held)
        for held in (0, 1000, 2500, 5000, 20000)
    ]
    # 1000 × (1 - held / (5000 + held))
    assert rates == [1000, 833, 666, 500, 200]


def test_admissions_due_is_rate_times_time_capped_by_headroom_and_queue():
    assert admissions_due(rate_per_minute=120, elapsed_seconds=1.0, headroom=100, queued=50) == 2
    assert admissions_due(rate_per_minute=120, elapsed_seconds=60, headroom=100, queued=500) == 100
    assert admissions_due(rate_per_minute=120, elapsed_seconds=60, headroom=500, queued=7) == 7
    assert admissions_due(rate_per_minute=120, elapsed_seconds=0.4, headroom=9, queued=9) == 0
    assert admissions_due(rate_per_minute=0, elapsed_seconds=60, headroom=9, queued=9) == 0
