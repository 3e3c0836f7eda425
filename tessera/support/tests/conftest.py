import pytest


@pytest.fixture(autouse=True)
def platform_help_centre(request):
    """The help centre as migration 0002 publishes it (a transactional test that ran before
    may have emptied the tables)."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from tessera.support.faq_seed import publish
    from tessera.support.models import FaqEntry

    publish(FaqEntry)
