"""Review actions: release, cancel and refund, block; audited; scoped to the organizer."""

import json

import pytest
from django.test import Client

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_user
from tessera.aftersales.tests.factories import bought
from tessera.core.models import AuditEntry
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Refund
from tessera.risk import services
from tessera.risk.errors import AccountBlocked, CaseClosed
from tessera.risk.models import AccountBlock, CaseStatus, ReviewCase
from tessera.sale import services as sale_services
from tessera.sale.choices import PlaceChoice

pytestmark = pytest.mark.django_db

REASONS = [{"code": "payer_accounts", "weight": 40, "payer": "phone:13800000001", "accounts": 3}]


@pytest.fixture
def paid(sale, buyer, now):
    return bought(sale, buyer, [1, 2], now)


@pytest.fixture
def case(paid, now):
    return services.flag_order(order=paid, score=40, reasons=REASONS, now=now)


@pytest.fixture
def staff(sale):
    return make_member(organization=sale.session.event.organization, role=Role.STAFF, is_staff=True)


def test_release_clears_the_flag_and_keeps_the_order(case, staff, paid, now):
    services.release_case(case=case, actor=staff, now=now, note="known fan club")
    case.refresh_from_db()
    assert (case.status, case.decided_by, case.note) == (
        CaseStatus.RELEASED,
        staff,
        "known fan club",
    )
    assert Order.objects.get(pk=paid.pk).status == paid.status
    entry = AuditEntry.objects.get(action="risk.case_released")
    assert (entry.actor, entry.organization_id) == (staff, paid.session.event.organization_id)
    with pytest.raises(CaseClosed):
        services.release_case(case=case, actor=staff, now=now)


def test_cancel_refunds_the_paid_order_in_full(case, staff, paid, now):
    services.cancel_case(case=case, actor=staff, reason="bot fleet", now=now)
    case.refresh_from_db()
    order = Order.objects.get(pk=paid.pk)
    assert case.status == CaseStatus.CANCELLED
    assert order.status == OrderStatus.REFUNDED
    assert sum(r.amount for r in Refund.objects.filter(payment__order=order)) == paid.total
    entry = AuditEntry.objects.get(action="risk.case_cancelled")
    assert entry.data["order_status"] == OrderStatus.REFUNDED and entry.actor == staff


def test_block_stops_sign_in_and_holds(case, staff, paid, buyer, sale, now):
    buyer.set_password("pass-word-42")
    buyer.save()
    services.block_account(user=buyer, actor=staff, reason="bot fleet", now=now, case=case)
    buyer.refresh_from_db()
    assert not buyer.is_active
    assert AccountBlock.objects.get(user=buyer).case == case
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.BLOCKED
    assert not Client().login(username=buyer.username, password="pass-word-42")
    with pytest.raises(AccountBlocked):
        sale_services.hold_places(
            session=sale.session,
            user=buyer,
            choice=PlaceChoice(zone_id=sale.zones["A"].pk, quantity=1),
            now=now,
            admission_pass=None,
        )
    assert {e.action for e in AuditEntry.objects.filter(action__startswith="risk.")} >= {
        "risk.order_flagged",
        "risk.account_blocked",
    }
    assert AuditEntry.objects.filter(action="accounts.deactivated", object_id=str(buyer.pk))
    services.unblock_account(block=AccountBlock.objects.get(user=buyer), actor=staff, now=now)
    buyer.refresh_from_db()
    assert buyer.is_active and not AccountBlock.objects.exists()


def test_the_review_queue_is_scoped_to_the_orders_organizer(case, staff, paid, now):
    other_sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    other_order = bought(other_sale, make_buyer(), [1], now)
    other_case = services.flag_order(order=other_order, score=40, reasons=REASONS, now=now)
    admin = Client()
    admin.force_login(staff)
    listing = admin.get("/admin/risk/reviewcase/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == [case]
    assert admin.get(f"/admin/risk/reviewcase/{other_case.pk}/change/").status_code == 302
    # the action over a foreign case's id does nothing to it
    answer = admin.post(
        "/admin/risk/reviewcase/",
        {"action": "release_selected", "_selected_action": [other_case.pk, case.pk]},
    )
    assert answer.status_code == 302
    assert ReviewCase.objects.get(pk=other_case.pk).status == CaseStatus.OPEN
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.RELEASED
    # a platform operator sees both
    root = Client()
    root.force_login(make_user(is_staff=True, is_superuser=True))
    assert root.get("/admin/risk/reviewcase/").context["cl"].result_count == 2


def test_cancel_through_the_back_office_asks_for_a_reason(case, staff, paid):
    admin = Client()
    admin.force_login(staff)
    form = admin.post(
        "/admin/risk/reviewcase/", {"action": "cancel_selected", "_selected_action": [case.pk]}
    )
    assert form.status_code == 200 and "reason" in form.context["form"].fields
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    done = admin.post(
        "/admin/risk/reviewcase/",
        {"action": "cancel_selected", "_selected_action": [case.pk], "reason": "bot fleet"},
    )
    assert done.status_code == 302
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.CANCELLED
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.REFUNDED


def test_the_organizer_switches_a_session_under_attack_in_the_back_office(staff, sale):
    admin = Client()
    admin.force_login(staff)
    answer = admin.post(
        "/admin/risk/underattack/add/", {"session": sale.session.pk, "room": "", "note": "bots"}
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="risk.under_attack_on")
    assert entry.actor == staff
    hold = Client()
    hold.force_login(make_buyer())
    answer = hold.post(
        f"/api/v1/sessions/{sale.session.pk}/holds",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 1}),
        content_type="application/json",
    )
    assert answer.status_code == 428
