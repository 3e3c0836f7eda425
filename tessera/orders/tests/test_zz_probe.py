import pytest

from tessera.orders.tests import test_state_machine as m

pytestmark = pytest.mark.django_db
def test_probe():
    m.test_the_purchase_core_keeps_its_invariants_under_random_use()
    for k, v in sorted(m.OUTCOMES.items()):
        print(f"{v:5d} {k}")
