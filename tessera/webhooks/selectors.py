"""Reads of the partner console: always within one partner organization."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q

from tessera.webhooks.models import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

MAX_ID = 2**63 - 1


def list_endpoints(organization):
    return (
        WebhookEndpoint.objects.filter(organization=organization)
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("pk")
    )


def get_endpoint(organization, pk) -> WebhookEndpoint | None:
    """The organization's endpoint ``pk``; None for another's, or an id out of range."""
    if not isinstance(pk, int) or not 0 < pk <= MAX_ID:
        return None
    return WebhookEndpoint.objects.filter(organization=organization, pk=pk).first()


def list_deliveries(endpoint: WebhookEndpoint, *, status: str = "", limit: int = 100):
    qs = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    return list(
        qs.prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-number"))
        ).order_by("-created_at", "-pk")[:limit]
    )
