"""A league's passes: sessions of two events at two venues of one organizer, and a pass
product covering some of them."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tessera.accounts.tests.factories import make_organization
from tessera.catalog.tests.factories import make_event
from tessera.inventory.tests.factories import SaleSetup, make_buyer, make_sale
from tessera.passes import selectors, services
from tessera.passes.models import CreditKind, Pass, PassProduct
from tessera.payments.testing import pay_locally

NOW = datetime(2030, 1, 10, 2, 0, tzinfo=UTC)
FIRST_MATCH = datetime(2030, 3, 2, 11, 30, tzinfo=UTC)


@dataclass
class League:
    organization: object
    sales: list[SaleSetup]  # covered sessions, in start order
    outsider: SaleSetup  # a session of the same organizer that no pass covers
    product: PassProduct

    @property
    def sessions(self):
        return [s.session for s in self.sales]


def make_league(
    *,
    matches: int = 3,
    seats_per_row: int = 4,
    rows: int = 1,
    standing: bool = False,
    price: str = "900.00",
    credit_kind: str = CreditKind.PERCENT,
    credit_value: str = "50",
    max_per_account: int = 1,
    now: datetime = NOW,
) -> League:
    """``matches`` sessions (home matches of one event, the last one of a second event at
    another venue), one section each (zone A), plus a standing area GA when ``standing``.
    ``now``: the sale opened a day before it, the first match 51 days after it (pages read
    the real clock, so browser tests pass the real time)."""
    first_match = FIRST_MATCH + (now - NOW)
    organization = make_organization(name="星城足球俱乐部", name_en="Star City FC")
    home = make_event(organization=organization, name="星城主场", name_en="Star City home")
    cup = make_event(organization=organization, name="星城杯", name_en="Star City Cup")
    sales = []
    for i in range(matches):
        sales.append(
            make_sale(
                sections=1,
                rows=rows,
                seats_per_row=seats_per_row,
                standing_capacity=2 if standing else 0,
                event=cup if i == matches - 1 and matches > 1 else home,
                starts_at=first_match + timedelta(days=7 * i),
                now=now,
            )
        )
    outsider = make_sale(
        sections=1, rows=1, seats_per_row=2, event=home, starts_at=first_match, now=now
    )
    zone = "GA" if standing else "A"
    product = services.create_product(
        organization=organization,
        name="星城季票",
        name_en="Star City season ticket",
        price=Decimal(price),
        sale_starts_at=now - timedelta(days=1),
        sale_ends_at=first_match,
        coverage=[(s.session, s.zones[zone]) for s in sales],
        max_per_account=max_per_account,
        credit_kind=credit_kind,
        credit_value=Decimal(credit_value),
        now=now,
    )
    return League(organization, sales, outsider, product)


def buy_and_pay(league: League, *, user=None, now=NOW) -> tuple[Pass, str]:
    """A fan buys the league's pass and pays at the sandbox; (the pass, its QR text)."""
    user = user or make_buyer()
    bought = services.buy_pass(product_id=league.product.pk, user=user, provider="sandbox", now=now)
    pay_locally(payment_id=bought.payment.pk, now=now)
    sold = selectors.get_pass(user=user, pass_id=bought.sold_pass.pk)
    return sold, selectors.pass_credential(sold)
