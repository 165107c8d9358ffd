import datetime as dt

import pytest
import time_machine

from guanxi.core.testing import make_customer

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# The default review window: 26 December 2025 (the cycle sets the grades for 2026).
NOW = dt.datetime(2025, 12, 26, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Company:
    """The `org` company with two Beijing customers, one in Tianjin and one in Shanghai."""

    def __init__(self, org):
        self.org = org
        self.bj1 = make_customer(org.sales_bj, name="北京星河建材有限公司")
        self.bj2 = make_customer(org.sales_bj, name="北京远方工程有限公司")
        self.tj = make_customer(org.sales_tj, name="天津海港贸易有限公司")
        self.sh = make_customer(org.sales_sh, name="上海浦江工程有限公司")

    @property
    def customers(self):
        return [self.bj1, self.bj2, self.tj, self.sh]


@pytest.fixture
def company(org, clock):
    return Company(org)
