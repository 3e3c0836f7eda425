"""Gate rules on the server: credential checks, gates, re-entry, rotating codes, online
scans and the merge of offline scans."""

import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera.checkin import services
from tessera.checkin.models import CheckinList, Presence, Scan
from tessera.checkin.tests.factories import AT_GATE, at, make_gates
from tessera.core.errors import InvalidInput
from tessera.tickets import credentials
from tessera.tickets import services as ticket_services
from tessera.tickets.tests.factories import NOW

pytestmark = pytest.mark.django_db


def tampered(text: str, index: int) -> str:
    raw = bytearray(credentials.base45_decode(text[4:]))
    raw[index] ^= 0x01
    return "TS1:" + credentials.base45_encode(bytes(raw))


def judge(g, text, *, gate=None, direction="entry", now=AT_GATE):
    rules = services.load_rules(g.session)
    return services.judge_code(
        text, rules=rules, gate_id=gate.pk if gate else None, direction=direction, now=now
    ).reason


def rotating(g, ticket, at_time):
    key = ticket_services.ticket_rotation_key(ticket=ticket, now=NOW)
    credential = ticket_services.credential_for(ticket=ticket, now=NOW)
    step = g.settings.rotating_step_seconds
    return credentials.rotating_text(credential, credentials.rotating_code(key, at_time, step))


def test_a_valid_credential_passes():
    g = make_gates()
    assert judge(g, g.credentials[0], gate=g.north) == "valid"


def test_a_tampered_byte_is_forged_and_a_garbled_text_malformed():
    g = make_gates()
    assert judge(g, tampered(g.credentials[0], 5)) == "forged"  # in the ticket id
    assert judge(g, tampered(g.credentials[0], 80)) == "forged"  # in the signature
    assert judge(g, g.credentials[0][:-3]) == "malformed"
    assert judge(g, "hello") == "malformed"


def test_a_credential_signed_by_another_key_is_forged_or_unknown():
    g = make_gates()
    payload, _sig, _signed = credentials.decode(g.credentials[0])
    other = Ed25519PrivateKey.generate()
    assert judge(g, credentials.sign(payload, other)) == "forged"
    unknown = credentials.Payload(**{**payload.__dict__, "key_id": payload.key_id + 999})
    assert judge(g, credentials.sign(unknown, other)) == "unknown_key"


def test_revoked_reissued_not_yet_valid_and_expired():
    g = make_gates()
    first, second = g.tickets[0], g.tickets[1]
    old = g.credentials[1]
    ticket_services.revoke_ticket(ticket=first, reason="refund", now=NOW)
    ticket_services.reissue_ticket(ticket=second, holder_name="韩梅梅", now=NOW)
    assert judge(g, g.credentials[0]) == "revoked"
    assert judge(g, old) == "revoked"
    second.refresh_from_db()
    assert judge(g, ticket_services.credential_for(ticket=second, now=NOW)) == "valid"
    assert judge(g, g.credentials[2], now=NOW - timedelta(minutes=3)) == "not_yet_valid"
    until = ticket_services.credential_valid_until(g.session)
    assert judge(g, g.credentials[2], now=until + timedelta(minutes=2)) == "expired"
    # the 2-minute clock leeway of gate devices, both ends
    assert judge(g, g.credentials[2], now=NOW - timedelta(minutes=1)) == "valid"


def test_rotating_codes_are_valid_one_step_either_side_and_static_codes_refused():
    g = make_gates(uses_rotating_codes=True, is_static_credential_allowed=False)
    ticket = g.tickets[0]
    shown = rotating(g, ticket, AT_GATE)
    assert judge(g, shown) == "valid"
    assert judge(g, shown, now=AT_GATE + timedelta(seconds=30)) == "valid"
    assert judge(g, shown, now=AT_GATE - timedelta(seconds=30)) == "valid"
    assert judge(g, shown, now=AT_GATE + timedelta(seconds=61)) == "code_expired"
    assert judge(g, shown, now=AT_GATE - timedelta(seconds=61)) == "code_expired"
    assert judge(g, g.credentials[0]) == "static_not_allowed"
    g.settings.is_static_credential_allowed = True
    g.settings.save()
    assert judge(g, g.credentials[0]) == "valid"


def test_gate_lists_and_entry_window():
    g = make_gates(entry_opens_at=at(-30), entry_closes_at=at(30))
    section = g.tickets[0].unit.section
    south_only_other = CheckinList.objects.create(session=g.session, name="South")
    south_only_other.gates.add(g.south)
    south_only_other.sections.add(section)
    north = CheckinList.objects.create(session=g.session, name="North VIP")
    north.gates.add(g.north)
    north.zones.add(g.zone)
    assert judge(g, g.credentials[0], gate=g.south) == "valid"
    assert judge(g, g.credentials[0], gate=g.north) == "valid"
    south_only_other.sections.clear()
    south_only_other.zones.clear()
    other_zone_list = CheckinList.objects.create(session=g.session, name="nothing")
    other_zone_list.gates.add(g.south)
    assert judge(g, g.credentials[0], gate=g.south) == "valid"  # an empty list admits all
    south_only_other.delete()
    other_zone_list.delete()
    assert judge(g, g.credentials[0], gate=g.south) == "wrong_gate"
    assert judge(g, g.credentials[0], gate=g.north, now=at(-31)) == "entry_closed"
    assert judge(g, g.credentials[0], gate=g.north, now=at(30)) == "entry_closed"
    assert judge(g, g.credentials[0], gate=g.north, direction="exit", now=at(31)) == "valid"


def online(g, text, *, direction="entry", gate=None, now=AT_GATE, scan_uuid=None):
    return services.scan_online(
        device=g.device,
        session=g.session,
        gate_id=(gate or g.north).pk,
        direction=direction,
        text=text,
        scan_uuid=scan_uuid or uuid.uuid4(),
        now=now,
    )


def test_online_scans_admit_once_then_follow_exits_and_reentry_rules():
    g = make_gates(is_reentry_allowed=False)
    cred = g.credentials[0]
    first = online(g, cred)
    assert (first.reason, first.scan.counted, first.holder_name) == ("valid", True, "王小明")
    assert online(g, cred, now=at(1)).reason == "already_entered"
    assert online(g, cred, direction="exit", now=at(2)).reason == "valid"
    assert online(g, cred, direction="exit", now=at(3)).reason == "not_inside"
    assert online(g, cred, now=at(4)).reason == "reentry_not_allowed"
    presence = Presence.objects.get(ticket_id=g.tickets[0].pk)
    assert (presence.is_inside, presence.entries) == (False, 1)
    g.settings.is_reentry_allowed = True
    g.settings.save()
    assert online(g, cred, now=at(5)).reason == "valid"
    presence.refresh_from_db()
    assert (presence.is_inside, presence.entries) == (True, 2)
    assert Scan.objects.filter(counted=True).count() == 3


def test_an_online_scan_is_idempotent_per_uuid_and_revocation_is_immediate():
    g = make_gates()
    scan_id = uuid.uuid4()
    assert online(g, g.credentials[0], scan_uuid=scan_id).reason == "valid"
    assert online(g, g.credentials[0], scan_uuid=scan_id, now=at(1)).reason == "valid"
    assert Scan.objects.count() == 1
    ticket_services.revoke_ticket(ticket=g.tickets[1], reason="refund", now=NOW)
    assert online(g, g.credentials[1]).reason == "revoked"
    assert Presence.objects.filter(ticket_id=g.tickets[1].pk).exists() is False


def offline(g, text, minutes, *, gate=None, accepted=True, reason="valid", direction="entry"):
    return services.OfflineScan(
        uuid=uuid.uuid4(),
        gate_id=(gate or g.north).pk,
        direction=direction,
        text=text,
        scanned_at=at(minutes),
        is_accepted=accepted,
        reason=reason,
    )


def test_two_gates_offline_one_entry_one_flag_whatever_the_sync_order():
    g = make_gates()
    cred = g.credentials[0]
    north = offline(g, cred, 2, gate=g.north)
    south = offline(g, cred, 1, gate=g.south)  # scanned first, synced last
    r1 = services.sync_scans(device=g.device, session=g.session, scans=[north], now=at(10))
    assert r1.flagged == []
    r2 = services.sync_scans(device=g.device, session=g.session, scans=[south], now=at(11))
    assert r2.flagged == [(str(north.uuid), "duplicate_entry")]
    assert Scan.objects.get(uuid=south.uuid).counted is True
    assert Scan.objects.get(uuid=north.uuid).counted is False
    presence = Presence.objects.get(ticket_id=g.tickets[0].pk)
    assert (presence.is_inside, presence.entries, presence.first_entry_at) == (True, 1, at(1))
    # a retried sync stores nothing again
    again = services.sync_scans(
        device=g.device, session=g.session, scans=[north, south], now=at(12)
    )
    assert (again.already_known, again.stored) == (2, 0)
    assert Scan.objects.count() == 2


def test_sync_flags_a_revoked_ticket_admitted_offline_and_stores_refusals():
    g = make_gates()
    ticket_services.revoke_ticket(ticket=g.tickets[0], reason="refund", now=NOW)
    admitted = offline(g, g.credentials[0], 1)
    refused = offline(g, "TS1:FORGED", 2, accepted=False, reason="malformed")
    result = services.sync_scans(
        device=g.device, session=g.session, scans=[admitted, refused], now=at(3)
    )
    assert result.flagged == [(str(admitted.uuid), "revoked")]
    stored = Scan.objects.get(uuid=admitted.uuid)
    assert (stored.is_accepted, stored.reason, stored.counted) == (False, "revoked", False)
    assert Scan.objects.get(uuid=refused.uuid).reason == "malformed"
    assert Presence.objects.filter(entries__gt=0).count() == 0


def test_sync_refuses_bad_input_and_stores_nothing():
    g = make_gates()
    bad = offline(g, g.credentials[0], 1, reason="teleported")
    with pytest.raises(InvalidInput):
        services.sync_scans(device=g.device, session=g.session, scans=[bad], now=at(2))
    other = make_gates()
    with pytest.raises(services.GateNotFound):
        services.sync_scans(
            device=g.device,
            session=g.session,
            scans=[offline(g, g.credentials[0], 1, gate=other.north)],
            now=at(2),
        )
    assert Scan.objects.count() == 0


def test_device_tokens_are_stored_hashed_and_revocable():
    g = make_gates()
    assert g.token not in g.device.token_hash
    assert services.authenticate_device(token=g.token.lower(), now=NOW) == g.device
    services.revoke_device(device=g.device, now=NOW)
    with pytest.raises(services.DeviceNotRecognised):
        services.authenticate_device(token=g.token, now=NOW)


def test_an_online_scan_applies_the_gate_lists():
    g = make_gates()
    elsewhere = make_gates()
    vip = CheckinList.objects.create(session=g.session, name="VIP only")
    vip.gates.add(g.south)
    vip.sections.add(elsewhere.tickets[0].unit.section)
    vip_section_list = CheckinList.objects.create(session=g.session, name="North all")
    vip_section_list.gates.add(g.north)
    vip_section_list.zones.add(g.zone)
    assert online(g, g.credentials[0], gate=g.south).reason == "wrong_gate"
    assert online(g, g.credentials[0], gate=g.north).reason == "valid"
    assert Scan.objects.filter(counted=True).count() == 1


def test_a_retried_online_scan_answers_as_the_first_one_even_when_it_raced(monkeypatch):
    g = make_gates()
    scan_uuid = uuid.uuid4()
    first = online(g, g.credentials[0], scan_uuid=scan_uuid)
    retried = online(g, g.credentials[0], scan_uuid=scan_uuid)
    assert (retried.scan.pk, retried.reason, retried.holder_name) == (
        first.scan.pk,
        "valid",
        first.holder_name,
    )
    # The retry that passed the uuid check before the first one was stored.
    real_filter = Scan.objects.filter
    calls = []

    def filter_missing_once(*args, **kwargs):
        if kwargs.keys() == {"uuid"} and not calls:
            calls.append(1)
            return real_filter(pk=None)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Scan.objects, "filter", filter_missing_once)
    raced = online(g, g.credentials[0], scan_uuid=scan_uuid)
    assert (raced.scan.pk, raced.reason) == (first.scan.pk, "valid")
    assert Scan.objects.count() == 1


def test_a_refused_offline_scan_stored_by_a_racing_retry_is_not_stored_twice(monkeypatch):
    g = make_gates()
    refused = offline(g, "not a ticket", 1, accepted=False, reason="malformed")
    kwargs = {"device": g.device, "session": g.session, "now": AT_GATE}
    services.sync_scans(scans=[refused], **kwargs)
    real_filter = Scan.objects.filter

    def filter_not_yet_stored(*args, **kw):  # the retry checked before the first one stored
        if "uuid__in" in kw:
            return real_filter(pk=None)
        return real_filter(*args, **kw)

    monkeypatch.setattr(Scan.objects, "filter", filter_not_yet_stored)
    services.sync_scans(scans=[refused], **kwargs)
    monkeypatch.undo()
    assert Scan.objects.filter(uuid=refused.uuid).count() == 1


def test_a_typed_ticket_number_is_refused_as_a_number_and_changes_nothing():
    # given a session with a valid ticket
    g = make_gates(tickets=1)
    rules = services.load_rules(g.session)

    # when its printed number (or any digits) is typed instead of the QR code
    verdicts = [
        services.judge_code(text, rules=rules, gate_id=None, direction="entry", now=AT_GATE)
        for text in (f"{g.tickets[0].pk:010d}", " 0000 0000 01 ", "12345")
    ]
    result = online(g, f"{g.tickets[0].pk:010d}")

    # then the scanner is told to scan the QR code, and nobody is let in
    assert [v.reason for v in verdicts] == [services.TICKET_NUMBER] * 3
    assert result.reason == services.TICKET_NUMBER
    assert result.ticket_id is None
    assert not Presence.objects.filter(is_inside=True).exists()
    # a short code or letters still count as "not a Tessera ticket"
    assert (
        services.judge_code("123", rules=rules, gate_id=None, direction="entry", now=AT_GATE).reason
        == "malformed"
    )


def test_already_entered_says_when_at_which_gate_and_the_seat():
    # given a ticket that went in at the north gate ten minutes ago
    g = make_gates(tickets=1)
    first = online(g, g.credentials[0], gate=g.north, now=at(0))
    assert first.reason == services.VALID
    assert first.place == "1区, row A, seat 1"

    # when it is shown again at the south gate
    again = online(g, g.credentials[0], gate=g.south, now=at(10))

    # then the answer names the first entry's time and gate, and the seat (in English here)
    assert again.reason == services.ALREADY_ENTERED
    assert again.entered_at == at(0)
    assert again.entered_gate == "North gate"
    assert again.place == "1区, row A, seat 1"
    assert Scan.objects.filter(is_accepted=True).count() == 1
