import pytest
from django.utils import translation

from tessera.inventory.selectors import clear_geometry_cache


@pytest.fixture(autouse=True)
def _fresh_geometry_cache():
    """Best-available geometry is cached per process; ids repeat across test databases."""
    clear_geometry_cache()
    yield
    clear_geometry_cache()


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Chinese)."""
    with translation.override("en"):
        yield
