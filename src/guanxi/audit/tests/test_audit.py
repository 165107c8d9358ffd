import json

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


def test_record_batch_writes_what_record_writes(org):
    import datetime as dt
    from decimal import Decimal

    from guanxi.audit.services import _BATCH_COLUMNS

    customer = make_customer(org.sales_bj, name="北京星河建材有限公司")
    contact = customer.contacts.create(name="欧阳娜娜")
    entries = [
        (
            "customer.created",
            customer,
            {"name": [None, customer.name], "capital": [None, Decimal("5.5")]},
        ),
        ("contact.created", contact, {"name": [None, "欧阳娜娜"], 7: [dt.date(2026, 1, 2), None]}),
        ("x.y", customer, None),
    ]
    columns = {f.column for f in AuditEvent._meta.concrete_fields if not f.primary_key}
    assert set(_BATCH_COLUMNS) == columns and len(_BATCH_COLUMNS) == len(columns)

    def rows(events):
        skip = {"id", "at"}
        return [
            {f.attname: getattr(e, f.attname) for f in AuditEvent._meta.concrete_fields
             if f.attname not in skip}
            for e in events
        ]  # fmt: skip

    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with using(AuditContext(ip="10.8.0.7", source="import")):
        assert audit.record_batch(actor=org.sales_bj, entries=entries) == 3
        one = [audit.record(actor=org.sales_bj, action=a, obj=o, changes=c) for a, o, c in entries]
    written = list(AuditEvent.objects.filter(id__gt=before).order_by("id"))
    many, again = written[:3], written[3:]
    assert rows(many) == rows(AuditEvent.objects.filter(pk__in=[e.pk for e in one]).order_by("id"))
    assert len(again) == 3 and len({e.at for e in many}) == 1
    assert many[1].customer_id == customer.pk and many[1].source == "import"
    assert many[1].ip == "10.8.0.7" and many[1].actor_id == org.sales_bj.pk
    assert many[0].changes == {"name": [None, customer.name], "capital": [None, "5.5"]}
    assert many[1].changes["7"] == ["2026-01-02", None]


def test_history_text_keeps_chinese_as_itself_and_reads_escaped_rows(org):
    """The log stores Chinese characters as themselves (ChangesEncoder: half the bytes of
    \\uXXXX escapes), through record() and record_batch() alike; rows written escaped
    before read the same."""
    from django.db import connection

    customer = make_customer(org.sales_bj, name="北京星河建材有限公司")
    one = audit.record(
        actor=org.sales_bj, action="customer.updated", obj=customer,
        changes={"name": ["旧名", "北京星河建材有限公司"]},
    )  # fmt: skip
    audit.record_batch(
        actor=org.sales_bj,
        entries=[("customer.created", customer, audit.encode_changes({"name": [None, "星河"]}))],
    )
    batch = AuditEvent.objects.order_by("-id").first()
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT changes FROM {table} WHERE id IN (%s, %s) ORDER BY id",
                       [one.pk, batch.pk])  # fmt: skip
        stored = [row[0] if isinstance(row[0], str) else json.dumps(row[0], ensure_ascii=False)
                  for row in cursor.fetchall()]  # fmt: skip
    assert "北京星河建材有限公司" in stored[0] and "\\u" not in stored[0]
    assert "星河" in stored[1] and "\\u" not in stored[1]
    # A row stored with escapes (as before) reads as the same changes.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET changes = %s WHERE id = %s",
                       ['{"name": [null, "\\u661f\\u6cb3"]}', batch.pk])  # fmt: skip
    assert AuditEvent.objects.get(pk=batch.pk).changes == {"name": [None, "星河"]}
