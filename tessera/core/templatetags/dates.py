"""``{% load dates %}``: ``{{ moment|local_moment }}`` (date and time in the current zone) and
``{{ moment|local_date }}`` in the site's one table of formats (``core.dates``)."""

from django import template
from django.utils import timezone

from tessera.core.dates import format_local
from tessera.core.dates import local_moment as _local_moment

register = template.Library()


@register.filter
def local_moment(value) -> str:
    return _local_moment(value) if value else ""


@register.filter
def local_date(value) -> str:
    return format_local(timezone.localtime(value), "date") if value else ""
