from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def stuck_orders(context):
    """Counts of orders stuck in payment the signed-in member may see, None for others."""
    from tessera.aftersales.admin import stuck_summary

    request = context.get("request")
    return stuck_summary(request) if request is not None else None
