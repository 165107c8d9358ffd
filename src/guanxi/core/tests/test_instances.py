"""core.rows.new_instance builds what model(**values) builds; core.cleaning.full_clean_fast
raises what full_clean raises."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.core.cleaning import full_clean_fast
from guanxi.core.rows import new_instance
from guanxi.core.testing import make_user
from guanxi.customers.models import Contact, Customer, Region


def _state(obj):
    data = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    return data, dict(obj._state.fields_cache), obj._state.adding, obj._state.db


@pytest.mark.django_db
def test_a_customer_with_related_records_is_the_one_the_model_builds():
    owner = make_user("sales")
    region = Region.objects.create(name="华北", code="north")
    values = {
        "name": "北京测试科技有限公司",
        "owner": owner,
        "department": owner.department,
        "region": region,
        "industry": None,
        "created_by": owner,
        "registered_capital": "500",
        "first_contact_on": dt.date(2026, 1, 5),
        "secrecy_level": "normal",
    }
    fast, slow = new_instance(Customer, dict(values)), Customer(**values)
    assert _state(fast) == _state(slow)
    assert fast.owner is owner and fast.region_id == region.pk
    assert fast.industry is None


@pytest.mark.django_db
def test_defaults_made_per_instance_are_not_shared():
    first = new_instance(AuditEvent, {"action": "x"})
    second = new_instance(AuditEvent, {"action": "y"})
    assert first.changes == {} and first.changes is not second.changes
    assert _state(first) == _state(AuditEvent(action="x"))


@pytest.mark.django_db
def test_ids_as_attribute_names_and_contacts():
    values = {"customer_id": 7, "name": "张三", "mobile": "13812345678"}
    assert _state(new_instance(Contact, dict(values))) == _state(Contact(**values))


def test_anything_else_gets_the_models_own_error():
    with pytest.raises(TypeError):
        new_instance(Contact, {"no_such_field": 1})
    with pytest.raises(ValueError):
        new_instance(Contact, {"customer": "not a customer"})


def _values(obj):
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


def _errors(clean, obj):
    try:
        clean(obj)
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.parametrize(
    "values",
    [
        {"name": "北京测试科技有限公司", "address": "北京市海淀区", "postcode": "100080"},
        {"name": ""},
        {"name": "名" * 201},
        {"name": "正常", "phone": "1" * 31, "fax": "010-1234"},
        {"name": "正常", "postcode": "10008"},
        {"name": "正常", "email": "not-an-email", "website": "not a url"},
        {"name": "正常", "email": "a@example.com", "website": "https://example.com"},
        {"name": "正常", "source_channel": "nowhere", "secrecy_level": "bogus"},
        {"name": 12345, "legal_representative": "李" * 51},
    ],
)
def test_fast_clean_finds_what_full_clean_finds(values):
    exclude = ["owner", "department", "region", "industry", "created_by", "co_owners", "tags"]
    options = {"validate_unique": False, "validate_constraints": False}
    quick, full = Customer(**values), Customer(**values)
    fast = _errors(lambda c: full_clean_fast(c, exclude=exclude, **options), quick)
    slow = _errors(lambda c: c.full_clean(exclude=exclude, **options), full)
    assert fast == slow
    assert list(fast) == list(slow)  # the fields in the same order
    assert _values(quick) == _values(full)  # cleaned values set alike
    assert bool(fast) == (values.get("email") != "a@example.com" and "address" not in values)


@pytest.mark.parametrize(
    "values",
    [
        {"name": "张三", "mobile": "13812345678"},
        {"name": "张三", "mobile": "12345"},
        {"name": "", "title": "经" * 51},
    ],
)
def test_fast_clean_of_contacts(values):
    options = {"exclude": ["customer"], "validate_unique": False, "validate_constraints": False}
    fast = _errors(lambda c: full_clean_fast(c, **options), Contact(**values))
    assert fast == _errors(lambda c: c.full_clean(**options), Contact(**values))
    assert bool(fast) == (values.get("mobile") != "13812345678")


def test_fast_clean_remembers_only_accepted_choices():
    options = {"validate_unique": False, "validate_constraints": False}
    exclude = ["owner", "department", "region", "industry", "created_by", "co_owners", "tags"]
    for _round in range(2):  # the second round answers from what the first accepted
        good = Customer(name="正常", source_channel="referral", secrecy_level="normal")
        assert _errors(lambda c: full_clean_fast(c, exclude=exclude, **options), good) == {}
        bad = Customer(name="正常", source_channel="nowhere", secrecy_level="normal")
        fast = _errors(lambda c: full_clean_fast(c, exclude=exclude, **options), bad)
        assert set(fast) == {"source_channel"}
    contact = Contact(name="张三", is_primary="yes")
    assert _errors(lambda c: full_clean_fast(c, exclude=["customer"], **options), contact)
