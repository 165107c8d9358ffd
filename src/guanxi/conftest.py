import pytest
from django.conf import settings

from guanxi.core.testing import DepartmentFactory, make_user
from guanxi.policy.selectors import clear_cache


def pytest_configure(config):
    # Real hashing makes each test user cost ~0.3 s; security is not under test there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def empty_cache():
    """Django's cache (locmem: shared by the tests of one process) empty before and after:
    for tests of what is cached between requests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    # Policy versions live in the test transaction; never let one leak into the next test.
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def org(db):
    """A small company: HQ → 华北大区 → 北京分公司 / 天津办事处, and 华东大区 → 上海分公司."""
    hq = DepartmentFactory(name="总部", kind="company", parent=None)
    north = DepartmentFactory(name="华北大区", kind="region", parent=hq)
    beijing = DepartmentFactory(name="北京分公司", parent=north)
    tianjin = DepartmentFactory(name="天津办事处", parent=north)
    east = DepartmentFactory(name="华东大区", kind="region", parent=hq)
    shanghai = DepartmentFactory(name="上海分公司", parent=east)

    class Org:
        pass

    o = Org()
    o.hq, o.north, o.beijing, o.tianjin, o.east, o.shanghai = (
        hq,
        north,
        beijing,
        tianjin,
        east,
        shanghai,
    )
    o.sales_bj = make_user("salesperson", department=beijing, username="sales_bj", name="张伟")
    o.sales_tj = make_user("salesperson", department=tianjin, username="sales_tj", name="李娜")
    o.sales_sh = make_user("salesperson", department=shanghai, username="sales_sh", name="王芳")
    o.supervisor_north = make_user(
        "supervisor", department=north, username="sup_north", name="刘洋"
    )
    o.director = make_user("sales_director", department=hq, username="director", name="陈静")
    o.gm = make_user("general_manager", department=hq, username="gm", name="赵总")
    o.finance = make_user("finance", department=hq, username="finance", name="钱会计")
    o.service = make_user("customer_service", department=hq, username="service", name="孙客服")
    o.keeper = make_user("archive_keeper", department=hq, username="keeper", name="周档案")
    o.admin = make_user("administrator", department=hq, username="admin", name="吴管理")
    return o
