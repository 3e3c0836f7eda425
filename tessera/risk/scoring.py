"""The risk score of one join or hold: 0–100 and the reasons, each with its weight.

Signals kept in this process's memory (bounded), so scoring reads nothing:
- ``timing_regular``: the last intervals between one device's (or account's) requests are
  short and nearly equal (coefficient of variation under 0.1), as a script's loop is;
- ``device_shared``: one device seen with several accounts;
- ``new_account``: the account was created just before (hours) the request;
- browser features the page reported inside the signed challenge: ``webdriver`` set, no
  languages, no screen; a proof without any features (a script that solved the challenge
  itself) is ``no_browser_features``.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.utils.translation import gettext_lazy as _

HISTORY = 8
_lock = threading.Lock()
_times: dict[str, deque] = {}
_accounts: dict[str, set] = {}

LABELS = {
    "timing_regular": _("Requests at machine-regular intervals"),
    "device_shared": _("Device used by several accounts"),
    "new_account": _("Account created just before the sale"),
    "webdriver": _("Browser driven by automation (webdriver)"),
    "no_languages": _("Browser reports no languages"),
    "no_screen": _("Browser reports no screen"),
    "no_browser_features": _("Proof solved without a browser's features"),
    "under_attack": _("Session or room under attack"),
    "proof_invalid": _("Forged, foreign, expired or replayed proof"),
    # the anomaly rules' reasons (anomalies.py)
    "payer_accounts": _("One payer paying for several accounts"),
    "payer_velocity": _("Many paid orders by one payer within an hour"),
    "payer_amount": _("Large amount paid by one payer"),
    "new_account_burst": _("Burst of accounts created just before buying"),
    "device_accounts": _("Bought by accounts sharing one device"),
    "address_range": _("Several accounts buying from one address range"),
    "repeated_transfer": _("The same ticket transferred again and again"),
}

CHALLENGE_AT = 40
SLOW_AT = 60
REFUSE_AT = 80


def thresholds() -> tuple[int, int, int]:
    return (
        int(getattr(settings, "RISK_CHALLENGE_SCORE", CHALLENGE_AT)),
        int(getattr(settings, "RISK_SLOW_SCORE", SLOW_AT)),
        int(getattr(settings, "RISK_REFUSE_SCORE", REFUSE_AT)),
    )


@dataclass
class Score:
    reasons: list[dict] = field(default_factory=list)

    @property
    def value(self) -> int:
        return min(100, sum(r["weight"] for r in self.reasons))

    def add(self, code: str, weight: int, **detail) -> None:
        self.reasons.append({"code": code, "weight": weight, **detail})


def label(code: str) -> str:
    return str(LABELS.get(code, code))


def _remember(key: str, at: float) -> list[float]:
    with _lock:
        seen = _times.get(key)
        if seen is None:
            if len(_times) > 100_000:
                _times.clear()
            seen = _times[key] = deque(maxlen=HISTORY)
        seen.append(at)
        return list(seen)


def _regularity(times: list[float]) -> float | None:
    """The coefficient of variation of the intervals, or None with too few or slow ones."""
    if len(times) < 5:
        return None
    gaps = [b - a for a, b in pairwise(times)]
    mean = statistics.fmean(gaps)
    if mean <= 0 or mean > 10:
        return None
    return statistics.pstdev(gaps) / mean


def observe(*, device_key: str, user, at: float, now: datetime) -> Score:
    """Note one request and score what this process knows of its device and account."""
    score = Score()
    user_id = getattr(user, "pk", None)
    for key in (f"d:{device_key}", f"u:{user_id}" if user_id else None):
        if key is None:
            continue
        cv = _regularity(_remember(key, at))
        if cv is not None and cv < 0.1:
            score.add("timing_regular", 30, cv=round(cv, 3))
            break
    if user_id and device_key.startswith("d:"):
        # only signed devices: an address (``s:`` keys) is shared by every fan behind a NAT
        with _lock:
            accounts = _accounts.get(device_key)
            if accounts is None:
                if len(_accounts) > 100_000:
                    _accounts.clear()
                accounts = _accounts[device_key] = set()
            if len(accounts) < 64:
                accounts.add(user_id)
            shared = len(accounts)
        if shared >= 6:
            score.add("device_shared", 45, accounts=shared)
        elif shared >= 3:
            score.add("device_shared", 25, accounts=shared)
    if user_id:
        joined = getattr(user, "date_joined", None)
        if joined is not None:
            hours = int(getattr(settings, "RISK_NEW_ACCOUNT_HOURS", 24))
            age = now - joined
            if age < timedelta(hours=1):
                score.add("new_account", 30, minutes=int(age.total_seconds() // 60))
            elif age < timedelta(hours=hours):
                score.add("new_account", 15, minutes=int(age.total_seconds() // 60))
    return score


def score_features(score: Score, features: dict) -> None:
    """Add the reasons the browser's reported features give (signed into the challenge)."""
    if not features:
        score.add("no_browser_features", 25)
        return
    if features.get("wd"):
        score.add("webdriver", 60)
    if not features.get("lang"):
        score.add("no_languages", 15)
    if not features.get("scr"):
        score.add("no_screen", 15)


def forget() -> None:
    with _lock:
        _times.clear()
        _accounts.clear()
