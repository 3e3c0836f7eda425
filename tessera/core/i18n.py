"""Bilingual content: models keep ``name`` (Chinese) and ``name_en`` (English)."""

from django.utils.translation import get_language


def is_english() -> bool:
    return (get_language() or "zh-hans").lower().startswith("en")


def localized(obj, field: str) -> str:
    """The English variant of ``field`` when the active language is English and
    one is filled in; the Chinese original otherwise."""
    if is_english():
        english = getattr(obj, f"{field}_en", "") or ""
        if english:
            return english
    return getattr(obj, field, "") or ""


class BilingualMixin:
    """Adds ``display_name`` to a model with ``name`` and ``name_en``."""

    @property
    def display_name(self) -> str:
        return localized(self, "name")

    def __str__(self) -> str:
        return self.display_name
