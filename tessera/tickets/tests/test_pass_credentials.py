"""The pass credential format (docs/ticket-credential.md, "Pass credentials"): the test
vector, the entry of a session, and the refusals in their order."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera.tickets import credentials as c
from tessera.tickets import pass_credentials as p

KEY = bytes(range(32))
PUBLIC = {7: Ed25519PrivateKey.from_private_bytes(KEY).public_key()}
NOT_BEFORE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOT_AFTER = datetime(2026, 12, 25, 19, 30, tzinfo=UTC)
AT = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
VECTOR = (
    "TP1:V50000G00QKI6B0$NRDYQ.QI9QT000**0000.00000I00J5R000Q20ZXP1006A0O+O7A0N5A000/00000I00"
    "K5R000Q20OZP1006A0O+O7A0N5ASUJ+DQ%BJIVMVDT00K1XRX7EUUPERDP68ZA2GGSKYK6SE JKWQMU*OU%1B.TP"
    ":GBTH+U4TJE.40%5F%0WYUU16QP6SHM95FI"
)


def payload(**changes) -> p.PassPayload:
    fields = {
        "pass_id": 4242,
        "version": 1,
        "holder_digest": c.holder_digest("王小明", 4242),
        "key_id": 7,
        "entries": (
            p.Entry(43, 1234568, 7654400, 1, NOT_BEFORE, NOT_AFTER),
            p.Entry(42, 1234567, 7654321, 1, NOT_BEFORE, NOT_AFTER),
        ),
    }
    return p.PassPayload(**{**fields, **changes})


def test_the_test_vector():
    assert c.holder_digest("王小明", 4242).hex() == "f5d9c3d3b1931eea"
    assert p.encode(payload()).hex() == (
        "010000000010920001f5d9c3d3b1931eea00000007020000002a00000012d68700000074cbb1000101c8"
        "c4f801c950120000002b00000012d68800000074cc00000101c8c4f801c95012"
    )
    assert p.sign(payload(), KEY) == VECTOR
    assert len(VECTOR) == 211


def test_each_session_reads_its_own_entry_and_no_other():
    for session, ticket, unit in [(42, 1234567, 7654321), (43, 1234568, 7654400)]:
        got = p.verify_for_session(VECTOR, session_id=session, pass_keys=PUBLIC, now=AT)
        assert (got.session_id, got.ticket_id, got.unit_id, got.version) == (
            session,
            ticket,
            unit,
            1,
        )
    with pytest.raises(p.NotForSession):
        p.verify_for_session(VECTOR, session_id=44, pass_keys=PUBLIC, now=AT)


@pytest.mark.parametrize(
    ("text", "keys", "revoked", "now", "reason"),
    [
        (VECTOR[:-2], PUBLIC, None, AT, c.MALFORMED),
        ("TS1:" + VECTOR[4:], PUBLIC, None, AT, c.MALFORMED),
        (VECTOR, {8: PUBLIC[7]}, None, AT, c.UNKNOWN_KEY),
        (p.sign(payload(), Ed25519PrivateKey.generate()), PUBLIC, None, AT, c.FORGED),
        (VECTOR, PUBLIC, [(1234567, 1)], AT, c.REVOKED),
        (VECTOR, PUBLIC, None, NOT_BEFORE - timedelta(minutes=1), c.NOT_YET_VALID),
        (VECTOR, PUBLIC, None, NOT_AFTER, c.EXPIRED),
    ],
)
def test_refusals(text, keys, revoked, now, reason):
    with pytest.raises(c.CredentialError) as refused:
        p.verify_for_session(text, session_id=42, pass_keys=keys, is_revoked=revoked, now=now)
    assert refused.value.reason == reason


def test_a_revoked_entry_leaves_the_others_valid():
    got = p.verify_for_session(
        VECTOR, session_id=43, pass_keys=PUBLIC, is_revoked=[(1234567, 1)], now=AT
    )
    assert got.ticket_id == 1234568


def test_entry_counts_are_bounded():
    with pytest.raises(ValueError):
        p.encode(payload(entries=()))
