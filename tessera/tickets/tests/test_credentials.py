"""The credential library on its own: no database is touched in this file (pytest-django
refuses database access to tests without the django_db mark), so everything here is what a
gate device can do with public key bytes alone."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera.tickets import credentials as cred
from tessera.tickets.qr import make_qr, qr_svg_document, qr_svg_inline

# A fixed key and payload: the same test vector as docs/ticket-credential.md.
VECTOR_PRIVATE_KEY = bytes(range(32))
VECTOR_PUBLIC_KEY = bytes.fromhex(
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
)
VECTOR_SIGNED_HEX = "0100000012d6870000002a00000074cbb101c8c4f801c95012efebf1afc1d40379000100000003"
VECTOR_TEXT = (
    "TS1:V500007H203H000.D5000JYE/GM6HP*FVBKPWH2B$T%9M5 QGDFV50000HH0CW5M47MOOCZ8XM81U35NVZ"
    "NJ:V0S36: BEP6EBN847$VJA3UF2L3R0ZHLYF0$CKN6QK3NUYLQD3%FH%KJXAH1LD.SAEIL70"
)
ISSUED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 25, 19, 30, tzinfo=UTC)
DURING = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


def vector_payload(**changes) -> cred.Payload:
    fields = {
        "ticket_id": 1234567,
        "session_id": 42,
        "unit_id": 7654321,
        "not_before": ISSUED,
        "not_after": UNTIL,
        "holder_digest": cred.holder_digest("王小明", 1234567),
        "version": 1,
        "key_id": 3,
    }
    fields.update(changes)
    return cred.Payload(**fields)


def vector_keys() -> dict[int, bytes]:
    return {3: VECTOR_PUBLIC_KEY}


def flip_byte(text: str, index: int) -> str:
    """The credential with bit 0 of raw byte ``index`` flipped, re-encoded."""
    raw = bytearray(cred.base45_decode(text[len(cred.PREFIX) :]))
    raw[index] ^= 0x01
    return cred.PREFIX + cred.base45_encode(bytes(raw))


def reason_of(text: str, **kwargs) -> str:
    kwargs.setdefault("public_keys", vector_keys())
    kwargs.setdefault("now", DURING)
    with pytest.raises(cred.CredentialError) as info:
        cred.verify(text, **kwargs)
    return info.value.reason


# -- round trip and the test vector ------------------------------------------------------


def test_sign_gives_the_documented_vector_and_verify_returns_the_payload():
    # given the documented key and payload
    payload = vector_payload()
    # when it is signed
    text = cred.sign(payload, VECTOR_PRIVATE_KEY)
    # then the text is the documented one, 159 characters, and verifies to the payload
    assert cred.encode(payload).hex() == VECTOR_SIGNED_HEX
    assert text == VECTOR_TEXT
    assert len(text) == 159
    assert cred.verify(text, public_keys=vector_keys(), now=DURING) == payload


def test_decode_splits_payload_signature_and_signed_bytes():
    payload, signature, signed = cred.decode(VECTOR_TEXT)
    assert payload == vector_payload()
    assert signed.hex() == VECTOR_SIGNED_HEX
    assert len(signature) == 64
    Ed25519PrivateKey.from_private_bytes(VECTOR_PRIVATE_KEY).public_key().verify(signature, signed)


def test_round_trip_with_a_fresh_key_and_the_largest_values():
    # given a new key and every field at its maximum
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    payload = vector_payload(
        ticket_id=2**48 - 1,
        session_id=2**32 - 1,
        unit_id=2**48 - 1,
        version=65535,
        key_id=2**32 - 1,
        holder_digest=b"\xff" * 8,
    )
    # when signed with the key object and verified with the raw public bytes only
    text = cred.sign(payload, key)
    result = cred.verify(text, public_keys={2**32 - 1: public}, now=DURING)
    # then every field survives
    assert result == payload
    assert (result.ticket_id, result.unit_id, result.version) == (2**48 - 1, 2**48 - 1, 65535)


def test_payload_rounds_the_window_outward_to_whole_minutes():
    payload = vector_payload(
        not_before=datetime(2026, 12, 1, 2, 0, 59, 999999, tzinfo=UTC),
        not_after=datetime(2026, 12, 25, 19, 30, 0, 1, tzinfo=UTC),
    )
    assert payload.not_before == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert payload.not_after == datetime(2026, 12, 25, 19, 31, tzinfo=UTC)


def test_payload_refuses_values_the_layout_cannot_carry():
    for changes in (
        {"ticket_id": 2**48},
        {"unit_id": -1},
        {"session_id": 2**32},
        {"version": 65536},
        {"key_id": 2**32},
        {"holder_digest": b"short"},
        {"not_before": datetime(2026, 12, 1, 2, 0)},  # naive
        {"not_before": datetime(1969, 12, 31, 23, 0, tzinfo=UTC)},
    ):
        with pytest.raises(ValueError):
            vector_payload(**changes)


# -- refusals ----------------------------------------------------------------------------


def test_every_flipped_byte_is_refused_with_the_reason_of_its_region():
    # given the vector credential: format byte 0, payload 1-34, key id 35-38, signature 39+
    expected = {}
    for index in range(cred.TOTAL_LENGTH):
        if index == 0:
            expected[index] = "malformed"
        elif 35 <= index <= 38:
            expected[index] = "unknown_key"
        else:
            expected[index] = "forged"
    # when each byte in turn is altered, then each is refused for its region's reason
    actual = {index: reason_of(flip_byte(VECTOR_TEXT, index)) for index in expected}
    assert actual == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        VECTOR_TEXT[4:],  # no prefix
        "TS2:" + VECTOR_TEXT[4:],
        VECTOR_TEXT.lower(),
        VECTOR_TEXT[:-1],  # a dangling Base45 character
        VECTOR_TEXT[:-2],  # one byte short
        VECTOR_TEXT + "00",  # one byte too many
        VECTOR_TEXT[:10] + "#" + VECTOR_TEXT[11:],  # not in the Base45 alphabet
        VECTOR_TEXT[:4] + ":::" + VECTOR_TEXT[7:],  # a group above 65535
    ],
)
def test_text_that_is_not_a_credential_is_malformed(text):
    assert reason_of(text) == "malformed"


def test_a_signature_by_another_key_under_the_same_kid_is_forged():
    other = Ed25519PrivateKey.generate()
    text = cred.sign(vector_payload(), other)
    assert reason_of(text) == "forged"


def test_an_unknown_key_id_is_refused():
    text = cred.sign(vector_payload(key_id=4), VECTOR_PRIVATE_KEY)
    assert reason_of(text) == "unknown_key"
    assert reason_of(VECTOR_TEXT, public_keys={}) == "unknown_key"
    assert reason_of(VECTOR_TEXT, public_keys={3: b"\x00" * 31}) == "unknown_key"


def test_revoked_versions_are_refused_and_a_newer_version_is_not():
    # the vector is version 1 of ticket 1234567
    assert reason_of(VECTOR_TEXT, is_revoked={(1234567, 1)}) == "revoked"
    assert reason_of(VECTOR_TEXT, is_revoked=[(1234567, 2)]) == "revoked"
    assert reason_of(VECTOR_TEXT, is_revoked=lambda t, v: (t, v) == (1234567, 1)) == "revoked"
    version_two = cred.sign(vector_payload(version=2), VECTOR_PRIVATE_KEY)
    assert (
        cred.verify(
            version_two, public_keys=vector_keys(), is_revoked={(1234567, 1)}, now=DURING
        ).version
        == 2
    )
    assert (
        cred.verify(
            VECTOR_TEXT, public_keys=vector_keys(), is_revoked={(7654321, 1)}, now=DURING
        ).ticket_id
        == 1234567
    )


def test_the_validity_window_includes_its_start_and_excludes_its_end():
    keys = vector_keys()
    assert cred.verify(VECTOR_TEXT, public_keys=keys, now=ISSUED).ticket_id == 1234567
    assert reason_of(VECTOR_TEXT, now=ISSUED - timedelta(microseconds=1)) == "not_yet_valid"
    assert (
        cred.verify(VECTOR_TEXT, public_keys=keys, now=UNTIL - timedelta(microseconds=1)).ticket_id
        == 1234567
    )
    assert reason_of(VECTOR_TEXT, now=UNTIL) == "expired"


def test_leeway_widens_the_window_on_both_sides():
    keys = vector_keys()
    two_minutes = timedelta(minutes=2)
    assert (
        cred.verify(
            VECTOR_TEXT, public_keys=keys, now=ISSUED - two_minutes, leeway=two_minutes
        ).version
        == 1
    )
    assert (
        cred.verify(
            VECTOR_TEXT, public_keys=keys, now=UNTIL + timedelta(minutes=1), leeway=two_minutes
        ).version
        == 1
    )
    assert reason_of(VECTOR_TEXT, now=UNTIL + two_minutes, leeway=two_minutes) == "expired"


def test_revocation_is_checked_before_the_window_and_the_signature_before_both():
    assert reason_of(VECTOR_TEXT, is_revoked={(1234567, 1)}, now=UNTIL) == "revoked"
    forged = cred.sign(vector_payload(), Ed25519PrivateKey.generate())
    assert reason_of(forged, is_revoked={(1234567, 1)}, now=UNTIL) == "forged"


def test_verify_needs_an_aware_now():
    with pytest.raises(ValueError):
        cred.verify(VECTOR_TEXT, public_keys=vector_keys(), now=datetime(2026, 12, 25, 12))


# -- holder digest -----------------------------------------------------------------------


def test_holder_digest_is_sha256_of_the_ticket_id_and_the_normalised_name():
    expected = hashlib.sha256((1234567).to_bytes(6, "big") + "王小明".encode()).digest()[:8]
    assert cred.holder_digest("王小明", 1234567) == expected
    assert expected.hex() == "efebf1afc1d40379"


def test_holder_names_compare_without_case_spaces_or_punctuation():
    assert cred.normalise_holder_name(" Li  Lei ") == "lilei"
    assert cred.normalise_holder_name("LI·LEI") == "lilei"
    assert cred.normalise_holder_name("ＬＩ－ＬＥＩ") == "lilei"  # full-width forms
    assert cred.normalise_holder_name("迈克尔·乔丹") == "迈克尔乔丹"
    payload = vector_payload()
    assert payload.holder_matches("王 小明")
    assert not payload.holder_matches("王小红")
    assert cred.holder_digest("王小明", 1234568) != payload.holder_digest


# -- Base45 ------------------------------------------------------------------------------


def test_base45_matches_the_rfc_9285_examples():
    assert cred.base45_encode(b"AB") == "BB8"
    assert cred.base45_encode(b"Hello!!") == "%69 VD92EX0"
    assert cred.base45_encode(b"base-45") == "UJCLQE7W581"
    assert cred.base45_decode("QED8WEX0") == b"ietf!"
    # 65536 in a group, a dangling character, outside the alphabet, 2015 in a final pair
    for bad in ("GGW", "A", "Ä0", "Z:"):
        with pytest.raises(ValueError):
            cred.base45_decode(bad)


# -- QR code -----------------------------------------------------------------------------


def test_the_credential_fits_a_version_7_qr_code_in_alphanumeric_mode():
    qr = make_qr(VECTOR_TEXT)
    assert (qr.mode, qr.version, qr.error) == ("alphanumeric", 7, "M")
    assert segno.make(VECTOR_TEXT).mode == "alphanumeric"


def test_the_svg_scales_and_keeps_a_quiet_zone():
    svg = qr_svg_inline(VECTOR_TEXT, title="票 0000000001")
    # 45 modules + 4 on each side, no fixed width or height
    assert svg.startswith('<svg viewBox="0 0 53 53" class="ticket-qr">')
    assert "<title>票 0000000001</title>" in svg
    assert "width=" not in svg.split(">", 1)[0]
    document = qr_svg_document(VECTOR_TEXT)
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns=')


# -- rotating codes ----------------------------------------------------------------------


def _hkdf_sha256(key: bytes, salt: bytes, info: bytes) -> bytes:
    """RFC 5869 written out, to pin the derivation independently of ``cryptography``."""
    prk = hmac.new(salt, key, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_ticket_keys_are_hkdf_of_the_rotation_key_and_the_ticket_id():
    rotation_key = bytes(32)
    key = cred.derive_ticket_key(rotation_key, 1234567)
    assert key == _hkdf_sha256(
        rotation_key, b"tessera rotating code v1", (1234567).to_bytes(6, "big")
    )
    assert key.hex() == "efc462a6a521e8eec052b2b8a471ed5dd63cc0885c095baacc8f827cac90e53a"
    assert cred.derive_ticket_key(rotation_key, 1234568) != key


def test_rotating_codes_change_every_step_and_match_the_vector():
    key = cred.derive_ticket_key(bytes(32), 1234567)
    start = datetime(2026, 12, 25, 11, 30, tzinfo=UTC)
    assert cred.rotating_code(key, start) == "648647"
    assert cred.rotating_code(key, start + timedelta(seconds=29)) == "648647"
    assert cred.rotating_code(key, start + timedelta(seconds=30)) == "093214"


def test_a_rotating_code_is_accepted_one_step_either_side_and_no_further():
    key = cred.derive_ticket_key(bytes(32), 1234567)
    shown_at = datetime(2026, 12, 25, 11, 30, 10, tzinfo=UTC)
    code = cred.rotating_code(key, shown_at)
    step = timedelta(seconds=30)
    assert cred.check_rotating_code(key, code, shown_at)
    assert cred.check_rotating_code(key, code, shown_at + step)
    assert cred.check_rotating_code(key, code, shown_at - step)
    assert not cred.check_rotating_code(key, code, shown_at + 2 * step)
    assert not cred.check_rotating_code(key, code, shown_at - 2 * step)
    assert not cred.check_rotating_code(key, code, shown_at + step, window=0)
    assert not cred.check_rotating_code(cred.derive_ticket_key(bytes(32), 7), code, shown_at)
    assert not cred.check_rotating_code(key, "６４８６４７", shown_at)
