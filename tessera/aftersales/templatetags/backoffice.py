from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def stuck_orders(context):
    """Counts of orders stuck in payment the signed-in member may see, None for others."""
    from tessera.aftersales.admin import stuck_summary

    request = context.get("request")
    return stuck_summary(request) if request is not None else None


@register.simple_tag(takes_context=True)
def staff_pages(context, limit: int = 8):
    """The live pages of the member's sessions from today on, soonest first: each session
    with its check-in dashboard and the waiting rooms that sell it (live view). An empty list
    for someone who may see no session."""
    from datetime import timedelta

    from tessera.accounts.selectors import is_platform_operator, list_organization_ids
    from tessera.catalog.models import Session, SessionStatus
    from tessera.core import clock
    from tessera.waitingroom.models import WaitingRoom

    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    sessions = (
        Session.objects.select_related("event", "layout__venue")
        .exclude(status=SessionStatus.CANCELLED)
        .filter(starts_at__gte=clock.now() - timedelta(hours=12))
        .order_by("starts_at", "pk")
    )
    if not is_platform_operator(request.user):
        sessions = sessions.filter(event__organization_id__in=list_organization_ids(request.user))
    sessions = list(sessions[:limit])
    rooms: dict[int, list] = {s.pk: [] for s in sessions}
    for room in WaitingRoom.objects.filter(sessions__in=sessions).distinct().order_by("pk"):
        for session_id in room.sessions.values_list("pk", flat=True):
            if session_id in rooms:
                rooms[session_id].append(room)
    return [(session, rooms[session.pk]) for session in sessions]
