import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; zh-hans catalogs may be compiled at any time."""
    with translation.override("en"):
        yield
