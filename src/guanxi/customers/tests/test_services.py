"""Business rules of the customer archive, exercised through its services."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.audit.selectors import customer_history
from guanxi.core.errors import DuplicateCreditCode, NotFound, PermissionDenied, ValidationFailed
from guanxi.core.testing import REAL_CREDIT_CODES, make_customer
from guanxi.customers import services
from guanxi.customers.completeness import completeness, filing_deadline
from guanxi.customers.models import Attachment, Contact, ContactRelation, Customer
from guanxi.policy.services import policy_set

HUAWEI = REAL_CREDIT_CODES["华为技术有限公司"]
TENCENT = REAL_CREDIT_CODES["腾讯科技（深圳）有限公司"]


def bad_check_character(code):
    return code[:-1] + ("7" if code[-1] != "7" else "8")


# --- create ----------------------------------------------------------------------------------
def test_create_defaults_owner_and_branch_and_records_history(org):
    customer = services.customer_create(
        actor=org.sales_bj,
        data={
            "name": "  华为技术有限公司 ",
            "credit_code": HUAWEI.lower(),
            "customer_type": "construction",
        },
        contacts=[
            {"name": "任经理", "mobile": "+86 138 1234 5678", "birthday": dt.date(1980, 5, 1)}
        ],
        tags=["重点客户"],
    )
    assert (customer.name, customer.credit_code) == ("华为技术有限公司", HUAWEI)
    assert customer.owner == org.sales_bj and customer.department == org.beijing
    assert customer.contacts.get().mobile == "13812345678"
    created = AuditEvent.objects.get(action="customer.created")
    assert created.customer_id == customer.pk and created.actor == org.sales_bj
    assert created.changes["name"] == [None, "华为技术有限公司"]
    assert created.changes["customer_type"] == [None, "建筑工程公司"]
    assert created.changes["tags"] == [None, ["重点客户"]]
    assert AuditEvent.objects.filter(action="contact.created", customer_id=customer.pk).count() == 1


def test_create_requires_permission(org):
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=org.service, data={"name": "客服建的客户"})
    assert Customer.objects.count() == 0


def test_invalid_input_collects_every_field_error_and_writes_nothing(org):
    with pytest.raises(ValidationFailed) as info:
        services.customer_create(
            actor=org.sales_bj,
            data={
                "name": "",
                "credit_code": bad_check_character(HUAWEI),
                "postcode": "1000",
                "email": "x@",
                "customer_type": "spaceship",
            },
            contacts=[{"name": "甲", "mobile": "13812345678"}, {"name": "乙", "mobile": "12345"}],
        )
    detail = info.value.detail
    assert set(detail) == {"name", "credit_code", "postcode", "email", "customer_type", "contacts"}
    assert detail["credit_code"] == ["统一社会信用代码校验位错误（GB 32100-2015），请核对。"]
    assert detail["contacts"][0] == {}
    assert "11位" in detail["contacts"][1]["mobile"][0]
    assert Customer.objects.count() == 0 and Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_duplicate_credit_code_refused_among_live_customers(org):
    make_customer(org.sales_bj, name="华为技术有限公司", credit_code=HUAWEI)
    with pytest.raises(DuplicateCreditCode):
        make_customer(org.sales_sh, name="华为（上海）", credit_code=HUAWEI)
    assert Customer.objects.count() == 1


def test_deleted_customer_frees_its_credit_code_but_then_cannot_be_restored(org):
    first = make_customer(org.sales_bj, name="华为技术有限公司", credit_code=HUAWEI)
    services.customer_delete(actor=org.director, customer_id=first.pk)
    make_customer(org.sales_bj, name="华为技术有限公司（重建）", credit_code=HUAWEI)
    with pytest.raises(DuplicateCreditCode):
        services.customer_restore(actor=org.director, customer_id=first.pk)


def test_bad_credit_code_kept_only_by_archive_keeper_with_reason(org):
    bad = bad_check_character(TENCENT)
    with pytest.raises(ValidationFailed) as info:
        make_customer(
            org.sales_bj, credit_code=bad, credit_code_override_reason="营业执照上就是这样印的"
        )
    assert "只有档案管理员" in info.value.detail["credit_code"][0]
    customer = make_customer(
        org.keeper,
        owner=org.sales_bj,
        credit_code=bad,
        credit_code_override_reason="营业执照印刷错误，已核实",
    )
    assert customer.credit_code == bad
    event = AuditEvent.objects.get(action="customer.created", customer_id=customer.pk)
    assert event.changes["credit_code_override_reason"] == [None, "营业执照印刷错误，已核实"]
    with pytest.raises(ValidationFailed):
        make_customer(org.keeper, owner=org.sales_bj, credit_code=bad_check_character(HUAWEI))


def test_valid_code_drops_a_stale_override_reason(org):
    customer = make_customer(
        org.keeper, owner=org.sales_bj, credit_code=HUAWEI, credit_code_override_reason="无需"
    )
    assert customer.credit_code_override_reason == ""


def test_customer_type_must_come_from_policy_default_and_override(org):
    with pytest.raises(ValidationFailed):
        make_customer(org.sales_bj, customer_type="distributor")
    policy_set(
        actor=org.admin,
        values={"customers.types": [{"code": "distributor", "label": "经销商"}]},
        note="新类型",
    )
    assert make_customer(org.sales_bj, customer_type="distributor").customer_type == "distributor"
    with pytest.raises(ValidationFailed):
        make_customer(org.sales_bj, customer_type="construction")


def test_salesperson_cannot_file_a_customer_outside_own_scope(org):
    with pytest.raises(ValidationFailed) as info:
        make_customer(org.sales_bj, owner=org.sales_sh.pk, department=org.shanghai.pk)
    assert "数据范围" in str(info.value.message)
    assert Customer.objects.count() == 0


def test_unknown_foreign_keys_are_field_errors(org):
    with pytest.raises(ValidationFailed) as info:
        make_customer(org.gm, owner=999999, region="abc")
    assert set(info.value.detail) >= {"owner", "region"}


# --- update and history ---------------------------------------------------------------------
def test_update_records_field_old_and_new(org):
    customer = make_customer(
        org.sales_bj, name="北京星河建材有限公司", address="北京市海淀区中关村大街1号"
    )
    services.customer_update(
        actor=org.sales_bj,
        customer_id=customer.pk,
        data={"address": "北京市朝阳区建国路88号", "phone": "010-62345678"},
        tags=["国企"],
    )
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.changes == {
        "address": ["北京市海淀区中关村大街1号", "北京市朝阳区建国路88号"],
        "phone": [None, "010-62345678"],
        "tags": [[], ["国企"]],
    }
    assert [e.action for e in customer_history(customer_id=customer.pk)] == [
        "customer.updated",
        "customer.created",
    ]


def test_update_without_change_writes_no_history(org):
    customer = make_customer(org.sales_bj, address="北京")
    services.customer_update(actor=org.sales_bj, customer_id=customer.pk, data={"address": "北京"})
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_out_of_scope_update_is_not_found_and_changes_nothing(org):
    customer = make_customer(org.sales_sh, address="上海")
    with pytest.raises(NotFound):
        services.customer_update(
            actor=org.sales_bj, customer_id=customer.pk, data={"address": "北京"}
        )
    with pytest.raises(NotFound):
        services.customer_update(
            actor=org.supervisor_north, customer_id=customer.pk, data={"address": "北京"}
        )
    customer.refresh_from_db()
    assert customer.address == "上海"


def test_read_only_role_cannot_change(org):
    customer = make_customer(org.sales_bj)
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=org.service, customer_id=customer.pk, data={"address": "x"})


def test_supervisor_edits_department_customers(org):
    customer = make_customer(org.sales_tj, address="天津")
    services.customer_update(
        actor=org.supervisor_north, customer_id=customer.pk, data={"address": "天津滨海新区"}
    )
    customer.refresh_from_db()
    assert customer.address == "天津滨海新区"


def test_transfer_out_of_own_scope_is_refused(org):
    customer = make_customer(org.supervisor_north)
    with pytest.raises(ValidationFailed):
        services.customer_update(
            actor=org.supervisor_north,
            customer_id=customer.pk,
            data={"owner": org.sales_sh.pk, "department": org.shanghai.pk},
        )
    customer.refresh_from_db()
    assert customer.owner == org.supervisor_north
    services.customer_update(
        actor=org.supervisor_north,
        customer_id=customer.pk,
        data={"owner": org.sales_tj.pk, "department": org.tianjin.pk},
    )
    customer.refresh_from_db()
    assert customer.owner == org.sales_tj


def test_nested_contacts_update_add_and_remove(org):
    customer = make_customer(
        org.sales_bj, contacts=[{"name": "甲", "mobile": "13800000001"}, {"name": "乙"}]
    )
    first, second = customer.contacts.order_by("id")
    services.customer_update(
        actor=org.sales_bj,
        customer_id=customer.pk,
        data={},
        contacts=[
            {"id": first.pk, "name": "甲", "title": "总经理"},
            {"name": "丙", "mobile": "13900000003"},
        ],
    )
    live = {c.name: c for c in Contact.objects.filter(customer=customer, deleted_at__isnull=True)}
    assert set(live) == {"甲", "丙"}
    assert live["甲"].title == "总经理"
    assert Contact.objects.get(pk=second.pk).deleted_at is not None
    actions = sorted(
        AuditEvent.objects.filter(
            customer_id=customer.pk, action__startswith="contact."
        ).values_list("action", flat=True)
    )
    assert actions == [
        "contact.created",
        "contact.created",
        "contact.created",
        "contact.deleted",
        "contact.updated",
    ]


def test_nested_contact_of_another_customer_is_refused(org):
    mine = make_customer(org.sales_bj, contacts=[{"name": "甲"}])
    other = make_customer(org.sales_bj, contacts=[{"name": "乙"}])
    foreign = other.contacts.get()
    with pytest.raises(ValidationFailed) as info:
        services.customer_update(
            actor=org.sales_bj,
            customer_id=mine.pk,
            data={},
            contacts=[{"id": foreign.pk, "name": "改名"}],
        )
    assert info.value.detail["contacts"][0]["id"]
    foreign.refresh_from_db()
    assert foreign.name == "乙"


def test_bad_mobile_on_nested_update_changes_nothing(org):
    customer = make_customer(
        org.sales_bj, address="旧地址", contacts=[{"name": "甲", "mobile": "13800000001"}]
    )
    contact = customer.contacts.get()
    with pytest.raises(ValidationFailed):
        services.customer_update(
            actor=org.sales_bj,
            customer_id=customer.pk,
            data={"address": "新地址"},
            contacts=[{"id": contact.pk, "mobile": "999"}],
        )
    customer.refresh_from_db()
    contact.refresh_from_db()
    assert (customer.address, contact.mobile) == ("旧地址", "13800000001")


# --- delete, recycle bin, restore ----------------------------------------------------------
def test_soft_delete_and_restore(org):
    customer = make_customer(org.sales_bj)
    services.customer_delete(actor=org.director, customer_id=customer.pk, reason="重复建档")
    assert Customer.objects.alive().filter(pk=customer.pk).count() == 0
    assert Customer.objects.filter(pk=customer.pk).exists()
    services.customer_restore(actor=org.director, customer_id=customer.pk)
    assert Customer.objects.alive().filter(pk=customer.pk).exists()
    assert [e.action for e in customer_history(customer_id=customer.pk)][:2] == [
        "customer.restored",
        "customer.deleted",
    ]


def test_salesperson_may_not_delete(org):
    customer = make_customer(org.sales_bj)
    with pytest.raises(PermissionDenied):
        services.customer_delete(actor=org.sales_bj, customer_id=customer.pk)
    assert Customer.objects.alive().filter(pk=customer.pk).exists()


def test_recycle_bin_period_default_and_override(org):
    customer = make_customer(org.sales_bj)
    with time_machine.travel(timezone.now() - dt.timedelta(days=31)):
        services.customer_delete(actor=org.director, customer_id=customer.pk)
    with pytest.raises(ValidationFailed) as info:
        services.customer_restore(actor=org.director, customer_id=customer.pk)
    assert "30天" in str(info.value.message)
    policy_set(actor=org.admin, values={"customers.recycle_bin_days": 60}, note="延长")
    services.customer_restore(actor=org.director, customer_id=customer.pk)


# --- relationship circle, special dates, attachments ---------------------------------------
def test_relationship_circle(org):
    customer = make_customer(org.sales_bj, contacts=[{"name": "董事长"}, {"name": "采购经理"}])
    boss, buyer = customer.contacts.order_by("id")
    relation = services.contact_relation_create(
        actor=org.sales_bj, source_id=boss.pk, target_id=buyer.pk, strength=5
    )
    assert relation.customer_id == customer.pk
    with pytest.raises(ValidationFailed):
        services.contact_relation_create(
            actor=org.sales_bj, source_id=boss.pk, target_id=buyer.pk, strength=5
        )
    with pytest.raises(ValidationFailed):
        services.contact_relation_create(actor=org.sales_bj, source_id=boss.pk, target_id=boss.pk)
    outsider = make_customer(org.sales_bj, contacts=[{"name": "别家"}]).contacts.get()
    with pytest.raises(ValidationFailed):
        services.contact_relation_create(
            actor=org.sales_bj, source_id=boss.pk, target_id=outsider.pk
        )
    with pytest.raises(NotFound):
        services.contact_relation_create(actor=org.sales_sh, source_id=boss.pk, target_id=buyer.pk)
    event = AuditEvent.objects.get(action="contact_relation.created")
    assert event.changes == {"relation": [None, "董事长 影响 采购经理"]}
    services.contact_relation_delete(actor=org.sales_bj, relation_id=relation.pk)
    assert ContactRelation.objects.count() == 0


def test_special_dates(org):
    customer = make_customer(org.sales_bj, contacts=[{"name": "王总"}])
    contact = customer.contacts.get()
    item = services.special_date_create(
        actor=org.sales_bj,
        customer_id=customer.pk,
        data={"kind": "birthday", "date": dt.date(1975, 3, 8), "contact": contact.pk},
    )
    assert item.contact == contact and item.remind_days_before == 10
    with pytest.raises(ValidationFailed) as info:
        services.special_date_create(
            actor=org.sales_bj,
            customer_id=customer.pk,
            data={"kind": "nonsense", "date": dt.date(2020, 1, 1)},
        )
    assert "kind" in info.value.detail


def test_attachments_stored_through_storage_and_audited(org, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    customer = make_customer(org.sales_bj)
    upload = SimpleUploadedFile("营业执照.pdf", b"%PDF-1.4 fake", content_type="application/pdf")
    attachment = services.attachment_add(
        actor=org.sales_bj,
        customer_id=customer.pk,
        file=upload,
        kind="business_licence",
        secrecy_level="confidential",
    )
    assert attachment.file.read() == b"%PDF-1.4 fake"
    assert (tmp_path / attachment.file.name).exists()
    assert attachment.size == 13
    with pytest.raises(ValidationFailed):
        services.attachment_add(
            actor=org.sales_bj, customer_id=customer.pk, file=upload, secrecy_level="cosmic"
        )
    with pytest.raises(NotFound):
        services.attachment_add(actor=org.sales_sh, customer_id=customer.pk, file=upload)
    services.attachment_delete(actor=org.sales_bj, attachment_id=attachment.pk)
    assert Attachment.objects.alive().count() == 0
    assert (
        AuditEvent.objects.filter(customer_id=customer.pk, action__startswith="attachment.").count()
        == 2
    )


def test_oversized_attachment_refused(org, settings):
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 10
    customer = make_customer(org.sales_bj)
    with pytest.raises(ValidationFailed) as info:
        services.attachment_add(
            actor=org.sales_bj, customer_id=customer.pk, file=SimpleUploadedFile("a.txt", b"x" * 11)
        )
    assert "文件过大" in info.value.detail["file"][0]


# --- completeness and filing deadline (policy driven) ----------------------------------------
def test_completeness_default_required_fields(org):
    customer = make_customer(
        org.sales_bj, name="北京星河建材有限公司", credit_code=HUAWEI, address="北京"
    )
    result = completeness(customer)
    # 10 required by default; present: name, credit_code, address, owner -> 4/10
    assert result.score == 40
    assert [field for field, _label in result.missing] == [
        "legal_representative",
        "phone",
        "customer_type",
        "industry",
        "region",
        "contacts",
    ]
    services.contact_create(actor=org.sales_bj, customer_id=customer.pk, data={"name": "甲"})
    assert completeness(Customer.objects.get(pk=customer.pk)).score == 50


def test_completeness_with_overridden_required_fields(org):
    policy_set(
        actor=org.admin, values={"customers.required_fields": ["name", "postcode"]}, note="简化"
    )
    customer = make_customer(org.sales_bj, name="甲公司")
    assert completeness(customer).score == 50
    assert completeness(customer).missing == [("postcode", "邮编")]


def test_filing_deadline_default_and_override(org):
    with time_machine.travel(dt.datetime(2025, 10, 13, 10, tzinfo=dt.UTC)):
        customer = make_customer(org.sales_bj, first_contact_on=dt.date(2025, 9, 30))
    deadline = filing_deadline(customer)
    assert deadline.due_on == dt.date(2025, 10, 14) and not deadline.late
    with time_machine.travel(dt.datetime(2025, 10, 1, tzinfo=dt.UTC)):
        policy_set(actor=org.admin, values={"customers.filing_deadline_workdays": 2}, note="收紧")
    deadline = filing_deadline(customer)
    assert deadline.due_on == dt.date(2025, 10, 10) and deadline.late


def test_change_deadline_and_freshness_rules_are_read(org):
    from guanxi.customers.completeness import is_stale

    customer = make_customer(org.sales_bj)
    assert not is_stale(customer)
    assert is_stale(customer, at=timezone.now() + dt.timedelta(days=181))
    policy_set(actor=org.admin, values={"customers.freshness_days": 30}, note="x")
    assert is_stale(customer, at=timezone.now() + dt.timedelta(days=31))


def test_services_keep_the_normalised_name_key(org):
    customer = make_customer(org.sales_bj, name="华建建材（北京）有限公司")
    assert customer.name_normalised == "华建建材"
    services.customer_update(
        actor=org.sales_bj, customer_id=customer.pk, data={"name": "廣州華潤置地有限公司"}
    )
    customer.refresh_from_db()
    assert customer.name_normalised == "华润置地"


# --- the batch path (customers.batch) refuses and records exactly what the service does -------
def _single(actor, item):
    """customer_create for one NewCustomer: (customer, None) or (None, the error)."""
    from django.db import transaction

    from guanxi.core.errors import DomainError

    try:
        with transaction.atomic():
            customer = services.customer_create(
                actor=actor, data=dict(item.data), contacts=item.contacts, tags=item.tags
            )
    except DomainError as exc:
        return None, exc
    return customer, None


def _outcome(error):
    if error is None:
        return None
    return (type(error).__name__, error.code, str(error.message), error.detail)


def _bad_inputs(org):
    from guanxi.customers.batch import NewCustomer
    from guanxi.customers.models import Industry

    Industry.objects.create(name="建材")
    make_customer(org.sales_bj, name="瑞丰建材有限公司", credit_code=TENCENT)
    item = NewCustomer
    return {
        "no name": item({"name": ""}),
        "name too long": item({"name": "长" * 201}),
        "check character": item({"name": "甲公司", "credit_code": bad_check_character(HUAWEI)}),
        "code length": item({"name": "乙公司", "credit_code": "91440300192203821"}),
        "code letters": item({"name": "丙公司", "credit_code": "91440300192203821O"}),
        "override needs a keeper": item(
            {
                "name": "丁公司",
                "credit_code": bad_check_character(HUAWEI),
                "credit_code_override_reason": "营业执照如此",
            }
        ),
        "taken code": item({"name": "戊公司", "credit_code": TENCENT}),
        "taken code beats a bad mobile": item(
            {"name": "己公司", "credit_code": TENCENT}, contacts=[{"name": "王", "mobile": "12"}]
        ),
        "mobile": item({"name": "庚公司"}, contacts=[{"name": "王经理", "mobile": "1381234567"}]),
        "contact name and e-mail": item({"name": "辛公司"}, contacts=[{"email": "x@"}]),
        "e-mail": item({"name": "壬公司", "email": "not-an-address"}),
        "postcode": item({"name": "癸公司", "postcode": "10002"}),
        "website": item({"name": "子公司", "website": "http://"}),
        "capital": item({"name": "丑公司", "registered_capital": "很多"}),
        "customer type": item({"name": "寅公司", "customer_type": "no_such_type"}),
        "unknown industry id": item({"name": "卯公司", "industry": 987654}),
        "value tier": item({"name": "辰公司", "value_tier": "huge"}),
        "possible duplicate": item({"name": "瑞丰建材（北京）有限公司"}),
        "out of scope": item({"name": "巳公司", "owner": org.sales_tj.pk}),
    }


def test_the_batch_refuses_exactly_what_the_service_refuses(org):
    from guanxi.customers.batch import customer_create_many

    cases = _bad_inputs(org)
    before = (Customer.objects.count(), Contact.objects.count(), AuditEvent.objects.count())
    for label, item in cases.items():
        customer, single_error = _single(org.sales_bj, item)
        assert customer is None, label
        (outcome,) = customer_create_many(actor=org.sales_bj, items=[item])
        assert outcome.customer is None, label
        assert _outcome(outcome.error) == _outcome(single_error), label
    # All at once: each item refused as on its own, nothing written.
    outcomes = customer_create_many(actor=org.sales_bj, items=list(cases.values()))
    for (label, item), outcome in zip(cases.items(), outcomes, strict=True):
        assert _outcome(outcome.error) == _outcome(_single(org.sales_bj, item)[1]), label
    assert {o.error.code for o in outcomes} == {
        "invalid",
        "duplicate_credit_code",
        "possible_duplicate",
    }
    assert outcomes[-1].error.detail == {"owner": ["负责人或分支机构超出您的数据范围。"]}
    assert (Customer.objects.count(), Contact.objects.count(), AuditEvent.objects.count()) == before


def test_the_batch_sees_its_own_earlier_items_as_the_service_sees_earlier_customers(org):
    from django.db import transaction

    from guanxi.customers.batch import NewCustomer, customer_create_many

    items = [
        NewCustomer({"name": "宏达物流有限公司", "credit_code": HUAWEI}),
        NewCustomer({"name": "金鼎钢构有限公司", "credit_code": HUAWEI}),  # same code
        NewCustomer({"name": "宏达物流（天津）有限公司"}),  # same name as the first
        NewCustomer({"name": "泰和机电有限公司"}),
    ]
    with transaction.atomic():
        sequential = [_single(org.sales_bj, item) for item in items]
        first_id = sequential[0][0].pk
        transaction.set_rollback(True)
    outcomes = customer_create_many(actor=org.sales_bj, items=items)
    assert [o.customer is not None for o in outcomes] == [True, False, False, True]
    assert _outcome(outcomes[1].error) == _outcome(sequential[1][1])
    assert outcomes[1].error.code == "duplicate_credit_code"
    # The candidate is the first item, by its id (ids differ between the two runs).
    assert (outcomes[2].error.code, outcomes[2].error.message) == (
        sequential[2][1].code,
        sequential[2][1].message,
    )
    assert outcomes[2].error.detail == {
        "candidates": [{"id": outcomes[0].customer.pk, "name": "宏达物流有限公司", "score": 100}]
    }
    assert sequential[2][1].detail == {
        "candidates": [{"id": first_id, "name": "宏达物流有限公司", "score": 100}]
    }


def test_the_batch_writes_the_same_customer_and_history_as_the_service(org):
    from guanxi.audit.context import AuditContext, using
    from guanxi.customers.batch import NewCustomer, customer_create_many

    def item(name, code):
        return NewCustomer(
            {
                "name": f"  {name} ",
                "credit_code": code.lower(),
                "customer_type": "construction",
                "owner": org.sales_bj.pk,
                "postcode": "100022",
                "registered_capital": "500",
            },
            contacts=[{"name": "任经理", "mobile": "+86 138 1234 5678", "title": "总经理"}],
            tags=["重点客户", "华北"],
        )

    with using(AuditContext(source="import")):
        single, error = _single(org.sales_bj, item("华为技术有限公司", HUAWEI))
        (outcome,) = customer_create_many(
            actor=org.sales_bj, items=[item("腾讯科技有限公司", TENCENT)]
        )
    assert error is None and outcome.error is None
    batch = outcome.customer
    fields = ["owner_id", "department_id", "customer_type", "postcode", "registered_capital",
              "secrecy_level", "created_by_id"]  # fmt: skip
    single.refresh_from_db()
    batch.refresh_from_db()
    assert [getattr(batch, f) for f in fields] == [getattr(single, f) for f in fields]
    assert (batch.credit_code, batch.name_normalised) == (TENCENT, "腾讯科技")
    assert list(batch.contacts.values_list("name", "mobile", "title")) == [
        ("任经理", "13812345678", "总经理")
    ]
    assert sorted(t.name for t in batch.tags.all()) == ["华北", "重点客户"]

    def history(customer):
        rows = AuditEvent.objects.filter(customer_id=customer.pk).order_by("id")
        return [(e.action, e.object_type, e.source, e.actor_id, e.changes) for e in rows]

    expected = [
        (action, kind, source, actor, dict(changes))
        for action, kind, source, actor, changes in history(single)
    ]
    for row in expected:
        if row[0] == "customer.created":
            row[4].update(name=[None, "腾讯科技有限公司"], credit_code=[None, TENCENT])
    assert history(batch) == expected
    assert {row[2] for row in expected} == {"import"}


def test_batch_writes_are_in_the_search_index(org):
    from guanxi.customers.batch import NewCustomer, customer_create_many
    from guanxi.customers.search import index

    (outcome,) = customer_create_many(
        actor=org.sales_bj,
        items=[NewCustomer({"name": "澜沧建材有限公司"}, contacts=[{"name": "王经理",
                                                                   "mobile": "13912345678"}])],
    )  # fmt: skip
    for text in ("澜沧", "5678", "王经理"):
        assert index.parse(text, common=False).ids == (outcome.customer.pk,), text


def test_batches_get_their_own_ids_timestamps_contacts_tags_and_index_entries(org):
    """bulk_insert / insert_rows: ids read back (SQLite) or drawn from the sequence
    (PostgreSQL, COPY) belong to the right records, batch after batch in one transaction;
    the search index follows the staged insert."""
    from guanxi.customers.batch import NewCustomer, customer_create_many
    from guanxi.customers.search import index

    brands = ["澜沧", "岷江", "漓江", "汾河", "渭水", "洱海"]
    for batch in (brands[:4], brands[4:]):
        outcomes = customer_create_many(
            actor=org.sales_bj,
            items=[
                NewCustomer(
                    {"name": f"{brand}建材有限公司", "phone": f"010-6{number:03d}1234"},
                    contacts=[{"name": f"{brand}经理", "mobile": f"1378899{number:04d}"}],
                    tags=[f"{brand}标签", "重点客户"],
                )
                for brand in batch
                for number in [brands.index(brand)]
            ],
        )
        for brand, outcome in zip(batch, outcomes, strict=True):
            number = brands.index(brand)
            customer = Customer.objects.get(pk=outcome.customer.pk)
            assert customer.name == f"{brand}建材有限公司"
            assert customer.created_at is not None and customer.updated_at is not None
            assert list(customer.contacts.values_list("name", "mobile")) == [
                (f"{brand}经理", f"1378899{number:04d}")
            ]
            assert sorted(customer.tags.values_list("name", flat=True)) == [
                f"{brand}标签",
                "重点客户",
            ]
            created = AuditEvent.objects.get(action="customer.created", customer_id=customer.pk)
            assert created.object_id == str(customer.pk)
            assert created.changes["name"] == [None, customer.name]
            contact = customer.contacts.get()
            assert AuditEvent.objects.filter(
                action="contact.created", object_id=str(contact.pk), customer_id=customer.pk
            ).exists()
            for text in (brand, f"{brand}经理", f"1378899{number:04d}"):
                assert index.parse(text, common=False).ids == (customer.pk,), text


def test_a_credit_code_taken_after_the_check_refuses_that_item_and_writes_the_rest(
    org, monkeypatch
):
    """Another writer files the code between the batch's check and its insert: the
    database's unique constraint refuses the insert (through COPY on PostgreSQL too) and
    the batch retries without that item, as the single service would refuse it."""
    from guanxi.customers import batch
    from guanxi.customers.batch import NewCustomer

    make_customer(org.sales_bj, name="华为技术有限公司", credit_code=HUAWEI)
    real = batch._taken_codes
    calls = []

    def stale_at_first(codes):
        calls.append(codes)
        return set() if len(calls) == 1 else real(codes)

    monkeypatch.setattr(batch, "_taken_codes", stale_at_first)
    outcomes = batch.customer_create_many(
        actor=org.sales_bj,
        items=[
            NewCustomer({"name": "甲建材有限公司"}),
            NewCustomer({"name": "乙机电有限公司", "credit_code": HUAWEI}),
            NewCustomer({"name": "丙物流有限公司", "credit_code": TENCENT}),
        ],
    )
    assert len(calls) == 2
    assert [o.customer is not None for o in outcomes] == [True, False, True]
    assert outcomes[1].error.code == "duplicate_credit_code"
    assert sorted(Customer.objects.values_list("name", flat=True)) == [
        "丙物流有限公司",
        "华为技术有限公司",
        "甲建材有限公司",
    ]
    assert AuditEvent.objects.filter(action="customer.created", source="").count() == 3


def test_batch_items_out_of_scope_are_refused_and_the_rest_written(org):
    from guanxi.customers.batch import NewCustomer, customer_create_many

    outcomes = customer_create_many(
        actor=org.sales_bj,
        items=[
            NewCustomer({"name": "甲建材有限公司"}),
            NewCustomer({"name": "乙物流有限公司", "owner": org.sales_tj}),
            NewCustomer({"name": "丙钢构有限公司"}),
        ],
    )
    assert [o.customer is not None for o in outcomes] == [True, False, True]
    assert outcomes[1].error.detail == {"owner": ["负责人或分支机构超出您的数据范围。"]}
    assert sorted(Customer.objects.values_list("name", flat=True)) == [
        "丙钢构有限公司",
        "甲建材有限公司",
    ]
    assert AuditEvent.objects.filter(action="customer.created").count() == 2


@pytest.mark.parametrize("max_block", [1000, 3])
def test_candidates_of_many_leave_out_deleted_and_differently_coded_records_as_one_by_one(
    org, monkeypatch, max_block
):
    """find_candidates_many scores keys read from the index alone and drops deleted
    records and those with another credit code afterwards: the same as one by one."""
    from guanxi.customers.dedup import matching

    monkeypatch.setattr(matching, "MAX_BLOCK", max_block)

    def add(name, credit_code=""):
        data = {"name": name, "credit_code": credit_code}
        return services.customer_create(actor=org.sales_bj, data=data, confirm_duplicate=True)

    coded = add("瑞丰建材有限公司", HUAWEI)
    add("北京瑞丰建材有限公司")
    gone = add("瑞丰建材厂", TENCENT)
    services.customer_delete(actor=org.director, customer_id=gone.pk)
    add("瑞丰物流有限公司", TENCENT)
    add("瑞丰建材机械有限公司")
    items = [
        ("瑞丰建材", ""),
        ("瑞丰建材", HUAWEI),
        ("瑞丰建材", TENCENT),
        ("瑞丰物流", HUAWEI),
        ("瑞丰物流", TENCENT),
        ("瑞丰", ""),
        ("鼎盛机电", ""),
    ]
    expected = [matching.find_candidates(key, credit_code=code) for key, code in items]
    assert matching.find_candidates_many(items) == expected
    assert gone.pk not in {c.id for found in expected for c in found}
    assert coded.pk in {c.id for c in expected[1]}
    assert coded.pk not in {c.id for c in expected[2]}
    if max_block == 1000:  # a narrowed block is cut short, for both ways alike
        assert [len(found) for found in expected] == [3, 3, 2, 0, 1, 0, 0]


def test_candidates_of_many_blocks_at_once_leave_the_connection_as_it_was(org):
    """Past FEW_BLOCKS blocks PostgreSQL's JIT is switched off for the block reads and
    back on after; the candidates are those of one by one."""
    from django.db import connection

    from guanxi.customers.dedup import matching

    brands = [first + "丰" for first in "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水"]
    assert len(brands) > matching.FEW_BLOCKS
    for brand in brands[::3]:
        make_customer(org.sales_bj, name=f"{brand}建材有限公司")
    items = [(f"{brand}建材", "") for brand in brands]

    def jit():
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    before = jit()
    expected = [matching.find_candidates(key) for key, _code in items]
    assert matching.find_candidates_many(items) == expected
    assert sum(1 for found in expected if found) == len(brands[::3])
    assert jit() == before


@pytest.mark.parametrize("max_block", [1000, 2])
def test_candidates_of_many_blocks_are_read_together(
    org, monkeypatch, max_block, django_assert_max_num_queries
):
    from guanxi.customers.dedup import matching

    monkeypatch.setattr(matching, "MAX_BLOCK", max_block)
    monkeypatch.setattr(matching, "BLOCKS_PER_QUERY", 4)
    brands = ["瑞丰", "宏达", "金鼎", "华森", "鑫源", "泰和", "凯盛", "永利", "恒通", "博远"]
    for brand in brands:
        for trade in ("建材", "物流", "机电"):
            make_customer(org.sales_bj, name=f"{brand}{trade}有限公司")
    items = [(f"{brand}建材厂", "") for brand in brands] + [("天元钢构", ""), ("瑞丰物流", HUAWEI)]
    expected = [matching.find_candidates(key, credit_code=code) for key, code in items]
    # 11 blocks, 4 to a query; narrowed twice more when blocks hold over 2 customers;
    # then one read of the records whose keys scored high enough.
    with django_assert_max_num_queries(4 if max_block == 1000 else 10):
        assert matching.find_candidates_many(items) == expected
    assert [len(found) for found in expected[:10]] == [1] * 10
    assert expected[-1][0].name == "瑞丰物流有限公司"
