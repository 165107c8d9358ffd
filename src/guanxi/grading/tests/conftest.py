import pytest
import time_machine

from guanxi.grading.testing import NOW


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
