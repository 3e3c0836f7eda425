from django import template

from tessera.partners.console import console_links

register = template.Library()


@register.simple_tag
def console_nav():
    """The console's sections: (url name, label) pairs from settings.PARTNER_CONSOLE_LINKS."""
    return console_links()
