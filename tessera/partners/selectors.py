"""Reads of the partner side: a partner's sales by day, its contract, its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import TruncDate

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.partners.models import ApplicationStatus, Contract, Invitation, PartnerApplication

# Orders that were sold: paid once, whatever happened to them afterwards (gross sales).
SOLD_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
)


def sales_zone() -> ZoneInfo:
    """The zone in which a partner's sales day runs (the platform's business day)."""
    return ZoneInfo(getattr(settings, "PARTNER_SALES_TIME_ZONE", "Asia/Shanghai"))


def partner_orders_filter(organization: Organization, *, prefix: str = "") -> Q:
    """Which orders are the partner's: a distributor's are those placed through its sales
    channels; an organizer's those of its events; a venue operator's those of sessions at
    its venues. Any other kind has none."""
    if organization.kind == OrganizationKind.DISTRIBUTOR:
        return Q(**{f"{prefix}channel__organization": organization})
    if organization.kind == OrganizationKind.ORGANIZER:
        return Q(**{f"{prefix}session__event__organization": organization})
    if organization.kind == OrganizationKind.VENUE_OPERATOR:
        return Q(**{f"{prefix}session__layout__venue__organization": organization})
    return Q(pk__in=[])


@dataclass(frozen=True)
class DayFigures:
    day: date
    tickets: int
    gross: Decimal


def sales_per_day(*, organization: Organization, now: datetime, days: int = 30) -> list[DayFigures]:
    """Tickets and gross of the partner's sold orders per sales day (by payment time), for
    the ``days`` days up to today, every day present (zeros included), oldest first."""
    zone = sales_zone()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    orders = Order.objects.filter(
        partner_orders_filter(organization),
        status__in=SOLD_STATUSES,
        paid_at__gte=start,
        paid_at__lt=end,
    )
    gross = dict(
        orders.annotate(day=TruncDate("paid_at", tzinfo=zone))
        .values("day")
        .annotate(total=Sum("total"))
        .values_list("day", "total")
    )
    tickets = dict(
        OrderLine.objects.filter(order__in=orders.values("pk"))
        .annotate(day=TruncDate("order__paid_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [
        DayFigures(
            day=first + timedelta(days=i),
            tickets=int(tickets.get(first + timedelta(days=i), 0)),
            gross=Decimal(gross.get(first + timedelta(days=i)) or 0).quantize(Decimal("0.01")),
        )
        for i in range(days)
    ]


def get_contract(organization: Organization) -> Contract | None:
    return (
        Contract.objects.filter(organization=organization)
        .prefetch_related("commission_rules__event")
        .first()
    )


def list_members(organization: Organization) -> list[Membership]:
    rank = Case(
        *(When(role=role, then=Value(i)) for i, role in enumerate(Role.values)),
        default=Value(len(Role.values)),
    )
    return list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by(rank, "user__username", "pk")
    )


def list_invitations(organization: Organization, *, now: datetime) -> list[Invitation]:
    """The organization's invitations still open, newest first."""
    return list(
        Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).select_related("invited_by")
    )


def applications_of(user) -> list[PartnerApplication]:
    return list(
        PartnerApplication.objects.filter(applicant=user)
        .select_related("organization")
        .defer("bank_details")
    )


def list_applications(*, status: str | None) -> list[PartnerApplication]:
    qs = PartnerApplication.objects.select_related("applicant", "organization").defer(
        "bank_details"
    )
    if status in ApplicationStatus.values:
        qs = qs.filter(status=status)
    return list(qs[:200])
