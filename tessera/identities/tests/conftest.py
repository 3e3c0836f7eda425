import pytest

from tessera.identities import services


@pytest.fixture(autouse=True)
def _fresh_blind_index_key():
    """Each test's database starts without the blind-index key: read it from there."""
    services.forget_blind_index_key()
    yield
    services.forget_blind_index_key()
