import pytest

from guanxi.audit import services as audit
from guanxi.audit.context import AuditContext, using
from guanxi.audit.models import AuditEvent
from guanxi.audit.selectors import audit_search
from guanxi.core.errors import PermissionDenied
from guanxi.core.testing import make_customer


def test_record_captures_actor_ip_and_source(org):
    customer = make_customer(org.sales_bj, name="北京星河建材有限公司")
    with using(AuditContext(ip="10.8.0.7", source="web")):
        event = audit.record(actor=org.sales_bj, action="customer.viewed", obj=customer)
    assert (event.actor_name, event.ip, event.source, event.customer_id) == (
        "张伟",
        "10.8.0.7",
        "web",
        customer.pk,
    )
    assert event.object_type == "customers.customer" and event.object_repr == "北京星河建材有限公司"


def test_events_are_append_only(org):
    event = audit.record(actor=org.admin, action="x.y")
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(action="z")


def test_search_by_administrators_only(org):
    make_customer(org.sales_bj, name="北京星河建材有限公司")
    make_customer(org.sales_sh, name="上海东方建设工程股份有限公司")
    assert [e.object_repr for e in audit_search(actor=org.admin, text="星河")] == [
        "北京星河建材有限公司"
    ]
    assert audit_search(actor=org.admin, action="customer.created").count() == 2
    assert audit_search(actor=org.admin, actor_id=org.sales_sh.pk).count() == 1
    with pytest.raises(PermissionDenied):
        audit_search(actor=org.sales_bj)


def test_diff_reports_only_changed_fields():
    assert audit.diff({"a": 1, "b": "x"}, {"a": 1, "b": "y"}) == {"b": ["x", "y"]}
