import pytest

from tessera.checkin import services
from tessera.checkin.demo import add_demo_checkin
from tessera.checkin.models import CheckinList, Gate
from tessera.tickets.tests.factories import NOW, make_ticketed_session


@pytest.mark.django_db
def test_demo_sessions_get_two_gates_and_a_device_with_a_known_code():
    session, _zone = make_ticketed_session()
    devices = add_demo_checkin(now=NOW)
    assert list(Gate.objects.filter(session=session).values_list("name_en", flat=True)) == [
        "North gate",
        "South gate",
    ]
    assert CheckinList.objects.filter(session=session).count() == 2
    code = f"demo-{session.event.organization.slug}"
    assert services.authenticate_device(token=code, now=NOW) == devices[0]
