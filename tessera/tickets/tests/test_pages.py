"""The buyer's ticket pages, the PDF, and the tickets API."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.tickets import credentials as cred
from tessera.tickets import services
from tessera.tickets.pdf import render_tickets_pdf
from tessera.tickets.selectors import list_order_tickets, summarize_ticket
from tessera.tickets.tests.factories import NOW, make_paid_order
from tessera.tickets.tests.pdftext import cjk_text_by_page, page_count

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}
DURING = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def sold():
    """A paid order of 王小明: seat A-1 for 李雷, seat A-2 for himself; tickets issued."""
    order = make_paid_order(seats=2, attendee_names=["李雷"])
    tickets = services.issue_tickets(order=order, now=NOW)
    return order, tickets


def login(client, user):
    client.force_login(user)
    return client


# -- ticket page -------------------------------------------------------------------------


def test_the_owner_sees_the_ticket_with_its_qr_code(client, sold):
    order, (ticket, _other) = sold
    response = login(client, order.user).get(
        reverse("tickets:detail", args=[ticket.public_id]), headers=EN
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="page-title">Starlight Concert</h1>' in page
    assert "Friday, 25 December 2026, 19:30" in page
    assert "1区 · row A · seat 1" in page
    assert "李雷" in page
    assert '<span class="status status-valid">Valid</span>' in page
    assert '<svg viewBox="0 0 53 53" class="ticket-qr">' in page  # version 7 + quiet zone
    assert f'href="/tickets/order/{order.number}/pdf"' in page
    assert "no-store" in response["Cache-Control"]


def test_someone_elses_ticket_is_not_found_and_anonymous_visitors_sign_in(client, sold):
    _order, (ticket, _other) = sold
    url = reverse("tickets:detail", args=[ticket.public_id])
    assert client.get(url).status_code == 302
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"
    assert login(client, make_user()).get(url).status_code == 404


def test_a_revoked_ticket_shows_no_qr_code(client, sold):
    order, (ticket, _other) = sold
    services.revoke_ticket(ticket=ticket, reason="refund", now=NOW)
    response = login(client, order.user).get(
        reverse("tickets:detail", args=[ticket.public_id]), headers=EN
    )
    page = response.content.decode()
    assert '<span class="status status-revoked">Revoked</span>' in page
    assert "This ticket is no longer valid and cannot be used to enter." in page
    assert 'class="ticket-qr"' not in page


def test_the_qr_svg_carries_the_credential_for_its_owner_only(client, sold):
    order, (ticket, other) = sold
    url = reverse("tickets:qr", args=[ticket.public_id])
    response = login(client, order.user).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<svg ')
    assert b'viewBox="0 0 53 53"' in response.content
    assert "no-store" in response["Cache-Control"]
    services.revoke_ticket(ticket=ticket, reason="refund", now=NOW)
    assert client.get(url).status_code == 404
    intruder = login(client, make_user())
    assert intruder.get(reverse("tickets:qr", args=[other.public_id])).status_code == 404


# -- PDF ---------------------------------------------------------------------------------


def test_the_order_pdf_has_one_page_per_valid_ticket_with_chinese_text(client, sold):
    # given an order of two tickets for an event with only a Chinese name
    order, _tickets = sold
    order.session.event.name_en = ""
    order.session.event.save()
    # when its owner downloads the PDF
    response = login(client, order.user).get(
        reverse("tickets:order_pdf", args=[order.number]), headers=EN
    )
    # then it is a two-page PDF whose Chinese text is drawn in the STSong-Light CID font
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="tessera-{order.number}.pdf"'
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4")
    assert page_count(pdf) == 2
    assert b"/Encoding /UniGB-UCS2-H" in pdf
    first, second = cjk_text_by_page(pdf)
    # (Latin characters are drawn in Helvetica: "1区" leaves "区", "看台A区" two runs)
    assert first == "票仓|星光演唱会|区|看台|区|李雷"
    assert second == "票仓|星光演唱会|区|看台|区|王小明"


def test_revoked_tickets_are_left_out_of_the_pdf_and_strangers_get_404(client, sold):
    order, (first, second) = sold
    services.revoke_ticket(ticket=first, reason="refund", now=NOW)
    url = reverse("tickets:order_pdf", args=[order.number])
    pdf = login(client, order.user).get(url, headers=EN).content
    assert page_count(pdf) == 1
    assert cjk_text_by_page(pdf)[0].endswith("|王小明")
    assert login(client, make_user()).get(url).status_code == 404
    services.revoke_ticket(ticket=second, reason="refund", now=NOW)
    assert login(client, order.user).get(url).status_code == 404


def test_a_standing_place_says_standing_and_long_names_wrap():
    # given a standing ticket of an event with a very long name
    order = make_paid_order(seats=0, standing=1)
    order.session.event.name = "星光" * 40
    order.session.event.save()
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    (loaded,) = list_order_tickets(order)
    # when it is rendered for a Chinese reader
    with translation.override("zh-hans"):
        summary = summarize_ticket(loaded)
        pdf = render_tickets_pdf([(summary, services.credential_for(ticket=ticket))], title="t")
    # then the place says standing and the name is broken over lines
    assert summary.is_standing
    assert summary.place_text == "内场站票 · 站票"
    (text,) = cjk_text_by_page(pdf)
    name_lines = [run for run in text.split("|") if run.startswith("星光星光")]
    assert len(name_lines) == 3
    assert all(0 < len(line) < 40 for line in name_lines)


# -- API ---------------------------------------------------------------------------------


def test_the_api_gives_the_owner_the_ticket_and_a_credential_that_verifies(client, sold):
    order, (ticket, _other) = sold
    response = login(client, order.user).get(f"/api/v1/tickets/{ticket.public_id}", headers=EN)
    assert response.status_code == 200
    body = response.json()
    credential = body.pop("credential")
    assert body == {
        "public_id": str(ticket.public_id),
        "number": ticket.number,
        "status": "valid",
        "version": 1,
        "holder_name": "李雷",
        "event_name": "Starlight Concert",
        "session_id": order.session_id,
        "starts_at": "2026-12-25T19:30:00+08:00",
        "time_zone": "Asia/Shanghai",
        "venue_name": "Starlight Arena",
        "section_code": "S1",
        "section_name": "1区",
        "row_label": "A",
        "seat_label": "1",
        "is_standing": False,
        "zone_name": "看台A区",
        "price": "380.00",
        "currency": "CNY",
        "order_number": order.number,
        "qr_svg_url": f"/tickets/{ticket.public_id}/qr.svg",
    }
    payload = cred.verify(
        credential, public_keys=services.public_keys_for_session(order.session), now=DURING
    )
    assert (payload.ticket_id, payload.version) == (ticket.pk, 1)


def test_the_api_hides_other_peoples_tickets(client, sold):
    _order, (ticket, _other) = sold
    url = f"/api/v1/tickets/{ticket.public_id}"
    assert client.get(url).json()["error"]["code"] == "not_authenticated"
    response = login(client, make_user()).get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_organizer_staff_get_the_sessions_public_keys(client, sold):
    # given a staff member of the event's organizer
    order, _tickets = sold
    staff = make_member(organization=order.session.event.organization, role=Role.STAFF)
    # when they ask for the session's keys
    response = login(client, staff).get(f"/api/v1/sessions/{order.session_id}/keys")
    # then they get the Ed25519 public keys by kid
    assert response.status_code == 200
    body = response.json()
    ((kid, public),) = services.public_keys_for_session(order.session).items()
    assert body["session_id"] == order.session_id
    assert (body["algorithm"], body["credential_prefix"]) == ("Ed25519", "TS1:")
    assert [(k["kid"], base64.b64decode(k["public_key"])) for k in body["keys"]] == [(kid, public)]
    assert body["keys"][0]["retired_at"] is None


def test_venue_staff_may_read_keys_and_others_may_not(client, sold):
    order, _tickets = sold
    url = f"/api/v1/sessions/{order.session_id}/keys"
    venue_staff = make_member(organization=order.session.layout.venue.organization)
    assert login(client, venue_staff).get(url).status_code == 200
    other_org = make_organization(kind=OrganizationKind.ORGANIZER)
    outsider = make_member(organization=other_org)
    response = login(client, outsider).get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert login(client, make_user()).get(url).status_code == 403
    missing = login(client, venue_staff).get("/api/v1/sessions/999999999/keys")
    assert missing.status_code == 404
    client.logout()
    assert client.get(url).status_code == 401


def test_the_revocation_list_syncs_incrementally(client, sold):
    # given one ticket reissued on day 1 and the other refunded on day 3
    order, (first, second) = sold
    services.reissue_ticket(ticket=first, holder_name="韩梅梅", now=NOW + timedelta(days=1))
    services.revoke_ticket(ticket=second, reason="refund", now=NOW + timedelta(days=3))
    staff = make_member(organization=order.session.event.organization)
    url = f"/api/v1/sessions/{order.session_id}/revocations"
    # when the whole list and then the changes since day 2 are fetched
    full = login(client, staff).get(url).json()
    since = client.get(url, {"since": (NOW + timedelta(days=2)).isoformat()}).json()
    # then the full list has both, the incremental one only the refund
    assert full["revocations"] == sorted(
        [{"ticket_id": first.pk, "version": 1}, {"ticket_id": second.pk, "version": 1}],
        key=lambda r: r["ticket_id"],
    )
    assert since["revocations"] == [{"ticket_id": second.pk, "version": 1}]
    naive = client.get(url, {"since": "2026-12-03T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["code"] == "invalid_input"
