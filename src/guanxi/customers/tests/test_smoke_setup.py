from guanxi.core.testing import make_customer


def test_owner_files_customer_with_contact(org):
    customer = make_customer(org.sales_bj, contacts=[{"name": "王经理", "mobile": "13812345678"}])
    assert customer.department == org.beijing
    assert customer.contacts.get().mobile == "13812345678"
