import datetime as dt

import pytest
import time_machine

from guanxi.core.testing import make_customer

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Tuesday 10 June 2025, 10:00 in Shanghai: before the monthly due day (25th).
NOW = dt.datetime(2025, 6, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Customers:
    def __init__(self, org):
        self.bj = make_customer(org.sales_bj, name="北京星河建材有限公司")
        self.bj2 = make_customer(org.sales_bj, name="北京长城钢构有限公司")
        self.tj = make_customer(org.sales_tj, name="天津海港贸易有限公司")
        self.sh = make_customer(org.sales_sh, name="上海浦江工程有限公司")


@pytest.fixture
def customers(org, clock):
    return Customers(org)
