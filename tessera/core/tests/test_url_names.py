"""Every named URL is named once: ``reverse`` finds one of two views sharing a name (two
Ninja operations whose functions have the same name, say), so a page would link to the
wrong endpoint without any error."""

from collections import Counter

from django.urls import get_resolver

# Django's own auth views are mounted twice on purpose (site and back office).
KNOWN = {"login", "password_reset"}


def _names(patterns, namespace=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name


def test_no_url_name_is_used_twice():
    counts = Counter(_names(get_resolver().url_patterns))
    assert [name for name, n in counts.items() if n > 1 and name not in KNOWN] == []
