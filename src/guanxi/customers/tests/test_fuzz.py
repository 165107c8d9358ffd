"""No input produces a 500: random JSON and form data against the customer endpoints.

Hypothesis generates field names from the real schema plus junk, with values of every
JSON type (text with control characters, huge numbers, nested lists/objects, nulls).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.core.testing import api_client, make_customer
from guanxi.customers.services import CONTACT_FIELDS, CUSTOMER_FIELDS

FIELDS = [*CUSTOMER_FIELDS, "tags", "co_owners", "contacts", "id", "junk", ""]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["", " ", "13812345678", "914403001922038216", "2025-02-30", "1e400", "\x00"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
contact = st.dictionaries(st.sampled_from([*CONTACT_FIELDS, "id", "junk"]), json_values, max_size=6)
payload = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(json_values, st.lists(contact, max_size=3)),
    max_size=8,
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def setup(org):
    return org, make_customer(org.sales_bj, name="模糊测试客户有限公司")


@FUZZ
@given(body=payload)
def test_api_create_never_500(setup, body):
    org, _customer = setup
    response = api_client(org.sales_bj).post("/api/customers/", body, format="json")
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "detail"}


@FUZZ
@given(body=payload)
def test_api_patch_never_500(setup, body):
    org, customer = setup
    response = api_client(org.sales_bj).patch(f"/api/customers/{customer.pk}/", body, format="json")
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "detail"}


form_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "0", "-1", "99999999999999999999", "abc", "2025-13-40"]),
)


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from([*CUSTOMER_FIELDS, "tags", "co_owners", "contact_name", "contact_mobile"]),
        form_values,
        max_size=10,
    )
)
def test_create_form_never_500(setup, client, data):
    org, _customer = setup
    client.force_login(org.sales_bj)
    response = client.post("/customers/new/", data)
    assert response.status_code in {200, 302}
