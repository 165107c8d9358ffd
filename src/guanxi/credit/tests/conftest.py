import pytest
import time_machine

from guanxi.ledger.testing import NOW, Books


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def books(org, clock):
    return Books(org)
