"""One table of date formats for every page and message, per language (core/dates.py)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from tessera.core.dates import format_local, local_moment

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT = datetime(2040, 12, 25, 11, 30, tzinfo=UTC)  # 19:30 in Shanghai


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Tue, Dec 25, 2040, 19:30"), ("zh-hans", "2040年12月25日 19:30")],
)
def test_a_moment_reads_in_the_venues_zone_in_the_language(language, expected):
    with translation.override(language):
        assert local_moment(MOMENT, SHANGHAI) == expected


@pytest.mark.parametrize(
    ("name", "en", "zh"),
    [
        ("card", "Tue, Dec 25", "12月25日 星期二"),
        ("day", "Dec 25", "12月25日"),
        ("date", "Dec 25, 2040", "2040年12月25日"),
        ("long", "Tuesday, December 25, 2040", "2040年12月25日 星期二"),
        ("month", "December 2040", "2040年12月"),
    ],
)
def test_every_named_format_in_both_languages(name, en, zh):
    day = date(2040, 12, 25)
    with translation.override("en"):
        assert format_local(day, name) == en
    with translation.override("zh-hans"):
        assert format_local(day, name) == zh
