"""The check-in endpoints and pages, one thin test each, plus the fan's live ticket QR."""

import uuid

import pytest
from django.test import Client

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.checkin import services
from tessera.checkin.models import Scan
from tessera.checkin.tests.factories import NOW, make_gates

pytestmark = pytest.mark.django_db


def device_client(token):
    return Client(headers={"authorization": f"Bearer {token}"})


def test_a_device_downloads_its_session_and_nothing_of_other_organizers():
    g = make_gates()
    other = make_gates()
    client = device_client(g.token)
    bundle = client.get(f"/api/v1/checkin/sessions/{g.session.pk}/bundle?names=true").json()
    assert [row[0] for row in bundle["tickets"]] == [t.pk for t in g.tickets]
    assert bundle["tickets"][0][4] == "王小明"
    assert [gate["id"] for gate in bundle["gates"]] == [g.north.pk, g.south.pk]
    assert bundle["rotation_key"] is None
    refused = client.get(f"/api/v1/checkin/sessions/{other.session.pk}/bundle")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "session_not_allowed")


def test_an_online_scan_answers_and_a_revoked_device_is_refused():
    g = make_gates()
    client = device_client(g.token)
    body = {"uuid": str(uuid.uuid4()), "code": g.credentials[0], "gate_id": g.north.pk}
    answer = client.post(
        f"/api/v1/checkin/sessions/{g.session.pk}/scans", body, content_type="application/json"
    ).json()
    assert (answer["reason"], answer["accepted"], answer["holder_name"]) == (
        "valid",
        True,
        "王小明",
    )
    services.revoke_device(device=g.device, now=NOW)
    body["uuid"] = str(uuid.uuid4())
    refused = client.post(
        f"/api/v1/checkin/sessions/{g.session.pk}/scans", body, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "device_not_recognised")
    assert Scan.objects.count() == 1


def test_the_dashboard_is_for_members_of_the_organizer_only():
    g = make_gates()
    member = make_member(organization=g.session.event.organization, role=Role.STAFF)
    stranger = make_member(organization=make_organization(), role=Role.MANAGER)
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/checkin/sessions/{g.session.pk}/dashboard/").status_code == 404
    assert client.get(f"/api/v1/checkin/sessions/{g.session.pk}/dashboard").status_code == 404
    client.force_login(member)
    data = client.get(f"/api/v1/checkin/sessions/{g.session.pk}/dashboard").json()
    assert (data["inside"], data["entered"], data["tickets"], data["flagged_count"]) == (0, 0, 3, 0)


def test_the_scanner_shell_manifest_and_worker_are_served_under_checkin():
    client = Client()
    page = client.get("/checkin/scanner/")
    assert b'id="checkin-config"' in page.content
    worker = client.get("/checkin/sw.js")
    assert worker["Service-Worker-Allowed"] == "/checkin/"
    assert b'"/checkin/scanner/"' in worker.content
    manifest = client.get("/checkin/manifest.webmanifest").json()
    assert (manifest["start_url"], manifest["display"]) == ("/checkin/scanner/", "standalone")


def test_the_ticket_page_shows_a_live_code_when_the_session_rotates():
    g = make_gates(uses_rotating_codes=True, is_static_credential_allowed=False)
    ticket = g.tickets[0]
    client = Client()
    client.force_login(ticket.order_line.order.user)
    page = client.get(f"/tickets/{ticket.public_id}/")
    assert b"data-live-url" in page.content
    assert b'id="ticket-no-print"' in page.content
    frames = client.get(f"/tickets/{ticket.public_id}/live.json").json()["frames"]
    assert len(frames) == 4
    assert frames[1]["from"] == frames[0]["until"]
    static = make_gates()
    other = static.tickets[0]
    client.force_login(other.order_line.order.user)
    assert client.get(f"/tickets/{other.public_id}/live.json").status_code == 404


def test_a_sync_with_a_scan_time_without_time_zone_is_refused_clearly():
    g = make_gates()
    body = {
        "scans": [
            {
                "uuid": str(uuid.uuid4()),
                "code": g.credentials[0],
                "scanned_at": "2026-06-01T19:00:00",
                "accepted": True,
                "reason": "valid",
            }
        ]
    }
    refused = device_client(g.token).post(
        f"/api/v1/checkin/sessions/{g.session.pk}/sync", body, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_input")
    assert Scan.objects.count() == 0
