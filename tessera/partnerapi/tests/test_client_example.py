"""docs/examples/partner_client.py, the integration guide's client, run against a live server:
catalog → availability → quote → order → tickets → cancel, over real HTTP."""

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest

from tessera.aftersales.models import RefundRequest
from tessera.orders.models import Order, OrderStatus
from tessera.partnerapi.tests.factories import make_distributor, make_partner_sale
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "partner_client.py"


def load_example():
    spec = importlib.util.spec_from_file_location("partner_client", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guides_client_runs_the_whole_flow(live_server, now):
    # given a distributor selling a session's open pool, refundable with a 5 % fee
    dist = make_distributor(code="example-dist", name="Example Tickets", now=now)
    sale = make_partner_sale(name="Example Gala", now=now)

    # when its system runs the guide's client
    result = load_example().run_flow(live_server.url, dist.key, quantity=2)

    # then it ordered two places of the first zone, got their tickets and cancelled one
    order = Order.objects.get(number=result["order"])
    assert (order.channel_id, order.session_id) == (dist.channel.pk, sale.session.pk)
    assert (result["event"], result["zone"], result["quote_total"]) == (
        "Example Gala",
        "A",
        "760.00",
    )
    assert result["order_total"] == "760.00" and result["same_order_again"] is True
    assert Order.objects.filter(channel=dist.channel).count() == 1
    tickets = list(Ticket.objects.filter(order_line__order=order).order_by("pk"))
    assert result["tickets"] == [t.pk for t in tickets]
    assert all(c.startswith("TS1:") for c in result["credentials"])
    assert result["pdf_is_pdf"] and result["pdf_bytes"] > 1000
    refund = RefundRequest.objects.get(order=order)
    assert result["cancel"]["refund"]["id"] == str(refund.pk)
    assert (refund.price, refund.fee, refund.amount) == (
        Decimal("380.00"),
        Decimal("19.00"),
        Decimal("361.00"),
    )
    assert [t.status for t in Ticket.objects.filter(order_line__order=order).order_by("pk")] == [
        TicketStatus.REVOKED,
        TicketStatus.VALID,
    ]
    assert result["order_after"] == OrderStatus.PARTIALLY_REFUNDED


def test_the_client_reports_errors_in_the_one_shape(live_server, now):
    dist = make_distributor(code="example-dist", name="Example Tickets", now=now)
    client = load_example().PartnerClient(live_server.url, dist.key)
    with pytest.raises(Exception) as raised:
        client.session(999_999)
    assert (raised.value.status, raised.value.code) == (404, "session_not_found")
    bad = load_example().PartnerClient(live_server.url, "tsk_0000000000_nothing")
    with pytest.raises(Exception) as raised:
        bad.catalog()
    assert (raised.value.status, raised.value.code) == (401, "channel_key_invalid")


def test_the_guide_names_every_operation_with_its_scope():
    import re

    from tessera.partnerapi.api import router
    from tessera.partnerapi.tests.test_tenancy import SCOPES, operations

    guide = (EXAMPLE.parents[1] / "partners.md").read_text(encoding="utf-8")
    table = {
        line.split("|")[1].strip(" `"): line.split("|")[2]
        for line in guide.splitlines()
        if line.startswith("| `")
    }
    assert router.path_operations
    for method, path in operations():
        short = re.sub(r"\{(event|session|ticket)_id\}", "{id}", path.removeprefix("/partner/"))
        assert f"`{method} {short}`" in table[SCOPES[(method, path)]], (method, path)
