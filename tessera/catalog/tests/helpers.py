"""Time helpers shared by the catalog tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 1 June 2025, 12:00 in Shanghai: the moment every catalog test runs at.
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=SHANGHAI)


def local(*args) -> datetime:
    """A datetime in Shanghai time: ``local(2025, 7, 5, 19, 30)``."""
    return datetime(*args, tzinfo=SHANGHAI)
