"""Merging two customers and reversing a merge, through the services."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import (
    AlreadyMerged,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from guanxi.core.testing import make_user
from guanxi.customers import services as customer_services
from guanxi.customers.dedup import links, selectors
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.dedup.services import (
    customer_merge,
    customer_merge_reverse,
    duplicate_dismiss,
)
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Attachment, Contact, ContactRelation, Customer, SpecialDate
from guanxi.policy.services import policy_set

HUAWEI = "914403001922038216"


def merge(org, pair, **kwargs):
    return customer_merge(
        actor=kwargs.pop("actor", org.director),
        survivor_id=pair.survivor.pk,
        merged_id=pair.merged.pk,
        **kwargs,
    )


def state():
    """Everything a refused merge must leave untouched."""
    return (
        list(Customer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values("pk", "customer_id")),
        list(ContactRelation.objects.order_by("pk").values("pk", "customer_id")),
        list(SpecialDate.objects.order_by("pk").values("pk", "customer_id")),
        list(Attachment.objects.order_by("pk").values("pk", "customer_id")),
        list(Customer.tags.through.objects.order_by("pk").values()),
        list(Customer.co_owners.through.objects.order_by("pk").values()),
        MergeRecord.objects.count(),
        AuditEvent.objects.count(),
    )


# --- the generic mover -----------------------------------------------------------------------
def test_links_are_found_from_the_model_graph():
    assert {(link.label, link.kind) for link in links.customer_links()} >= {
        ("customers.contact.customer", "move"),
        ("customers.contactrelation.customer", "move"),
        ("customers.specialdate.customer", "move"),
        ("customers.attachment.customer", "move"),
        ("customers.customer_tags.customer", "unite"),
        ("customers.customer_co_owners.customer", "unite"),
    }
    labels = {link.label for link in links.customer_links()}
    assert not any(
        label.startswith(("customers.mergerecord", "customers.duplicatedismissal"))
        for label in labels
    )
    assert "customers.customer.merged_into" not in labels


def test_a_model_can_keep_its_rows_with_the_merged_customer(org, pair, monkeypatch):
    monkeypatch.setattr(SpecialDate, "customer_merge", "keep", raising=False)
    merge(org, pair)
    assert pair.special_date.__class__.objects.get(pk=pair.special_date.pk).customer_id == (
        pair.merged.pk
    )
    assert Contact.objects.filter(customer=pair.survivor).count() == 2


def test_linked_models_can_hook_into_merge_and_reversal(org, pair, monkeypatch):
    calls = []

    def hook(name):
        def record(cls, *, actor, survivor, merged):
            calls.append((name, actor, survivor.pk, merged.pk, merged.deleted_at is None))

        return classmethod(record)

    monkeypatch.setattr(SpecialDate, "customer_merged", hook("merged"), raising=False)
    monkeypatch.setattr(SpecialDate, "customer_merge_reversed", hook("reversed"), raising=False)
    merge(org, pair)
    customer_merge_reverse(actor=org.admin, merge_id=MergeRecord.objects.get().pk)
    assert calls == [
        ("merged", org.director, pair.survivor.pk, pair.merged.pk, False),
        ("reversed", org.admin, pair.survivor.pk, pair.merged.pk, True),
    ]


# --- merge -----------------------------------------------------------------------------------
def test_merge_moves_everything_and_keeps_the_merged_record(org, pair):
    survivor = merge(org, pair)
    assert survivor.pk == pair.survivor.pk
    assert set(survivor.contacts.values_list("name", flat=True)) == {"王经理", "李总"}
    assert ContactRelation.objects.get(pk=pair.relation.pk).customer_id == survivor.pk
    assert SpecialDate.objects.get(pk=pair.special_date.pk).customer_id == survivor.pk
    assert Attachment.objects.get(pk=pair.attachment.pk).customer_id == survivor.pk
    assert set(survivor.tags.values_list("name", flat=True)) == {"重点客户", "华北"}
    assert list(survivor.co_owners.all()) == [org.sales_tj]
    merged = Customer.objects.get(pk=pair.merged.pk)
    assert merged.is_deleted and merged.merged_into_id == survivor.pk
    assert merged.deleted_by == org.director
    assert merged.contacts.count() == 0


def test_fields_default_to_the_survivor_or_fill_its_gaps(org, pair):
    survivor = merge(org, pair)
    survivor.refresh_from_db()
    assert survivor.name == "北京华建建材有限公司"  # survivor's
    assert survivor.phone == "010-66668888"  # survivor's
    assert survivor.address == "北京市朝阳区建国路1号"  # survivor's
    assert survivor.credit_code == HUAWEI  # survivor had none: the merged one's moves over
    assert survivor.legal_representative == "王建华"
    assert survivor.industry == pair.industry
    assert survivor.notes == "老客户，2015年起合作"
    record = MergeRecord.objects.get()
    assert record.field_choices["phone"] == "survivor"
    assert record.field_choices["credit_code"] == "merged"


def test_the_user_picks_field_by_field(org, pair):
    survivor = merge(
        org, pair, field_choices={"name": "merged", "phone": "merged", "credit_code": "survivor"}
    )
    survivor.refresh_from_db()
    assert survivor.name == "华建建材（北京）有限公司"
    assert survivor.name_normalised == "华建建材"
    assert survivor.phone == "010-12345678"
    assert survivor.credit_code == ""
    assert survivor.address == "北京市朝阳区建国路1号"


@pytest.mark.parametrize(
    "choices, detail",
    [
        ({"deleted_at": "merged"}, {"fields": {"deleted_at": ["该字段不能在合并时选择。"]}}),
        (
            {"phone": "both"},
            {"fields": {"phone": ["请选择 survivor（保留客户）或 merged（被合并客户）。"]}},
        ),
    ],
)
def test_bad_field_choices_are_refused(org, pair, choices, detail):
    before = state()
    with pytest.raises(ValidationFailed) as info:
        merge(org, pair, field_choices=choices)
    assert info.value.detail == detail
    assert state() == before


def test_merge_leaves_an_audit_trail_and_the_survivor_shows_the_merged_history(org, pair):
    merged_history = set(
        AuditEvent.objects.filter(customer_id=pair.merged.pk).values_list("pk", flat=True)
    )
    assert len(merged_history) >= 6  # created, contacts, relation, date, attachment, updated
    merge(org, pair)
    merged_event = AuditEvent.objects.get(action="customer.merged")
    assert merged_event.customer_id == pair.survivor.pk
    assert merged_event.actor == org.director
    assert merged_event.changes["merged_from"] == [
        None,
        f"华建建材（北京）有限公司（#{pair.merged.pk}）",
    ]
    assert merged_event.changes["credit_code"] == [None, HUAWEI]
    assert merged_event.changes["tags"] == [["重点客户"], ["华北", "重点客户"]]
    assert merged_event.changes["moved"] == [
        None,
        {"附件": 1, "联系人关系": 1, "联系人": 2, "特殊日期": 1, "协作负责人": 1, "标签": 1,
         "变更历史": len(merged_history)},
    ]  # fmt: skip
    away = AuditEvent.objects.get(action="customer.merged_away")
    assert away.customer_id == pair.merged.pk
    assert away.changes == {"merged_into": [None, f"北京华建建材有限公司（#{pair.survivor.pk}）"]}
    timeline = set(
        selectors.customer_timeline(customer_id=pair.survivor.pk).values_list("pk", flat=True)
    )
    assert merged_history <= timeline
    assert {merged_event.pk, away.pk} <= timeline


def test_timeline_follows_chains_of_merges(org, pair):
    third = add(org.sales_bj, "华建建材厂")
    merge(org, pair)
    customer_merge(actor=org.director, survivor_id=third.pk, merged_id=pair.survivor.pk)
    assert selectors.merged_customer_ids(third.pk) == [third.pk, pair.survivor.pk, pair.merged.pk]
    assert selectors.merged_survivor_id(actor=org.director, pk=pair.merged.pk) == third.pk


def test_merged_survivor_id_needs_a_visible_survivor(org, pair):
    merge(org, pair)
    assert selectors.merged_survivor_id(actor=org.sales_bj, pk=pair.merged.pk) == pair.survivor.pk
    assert selectors.merged_survivor_id(actor=org.sales_sh, pk=pair.merged.pk) is None
    assert selectors.merged_survivor_id(actor=org.sales_bj, pk=pair.survivor.pk) is None
    assert selectors.merged_survivor_id(actor=org.sales_bj, pk="x") is None


# --- who may merge ---------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["sales_bj", "supervisor_north", "service", "finance"])
def test_roles_without_delete_permission_cannot_merge(org, pair, user):
    before = state()
    with pytest.raises(PermissionDenied):
        merge(org, pair, actor=getattr(org, user))
    assert state() == before


def test_a_customer_outside_the_change_scope_is_not_found(org, pair):
    director_east = make_user("sales_director", department=org.east, username="director_east")
    shanghai = add(org.sales_sh, "上海华建建材有限公司")
    before = state()
    for survivor_id, merged_id in [(pair.survivor.pk, shanghai.pk), (shanghai.pk, pair.merged.pk)]:
        with pytest.raises(NotFound):
            customer_merge(actor=director_east, survivor_id=survivor_id, merged_id=merged_id)
    with pytest.raises(NotFound):
        customer_merge(actor=org.director, survivor_id=pair.survivor.pk, merged_id=999999)
    assert state() == before


def test_a_customer_cannot_be_merged_into_itself(org, pair):
    with pytest.raises(ValidationFailed) as info:
        customer_merge(actor=org.director, survivor_id=pair.survivor.pk, merged_id=pair.survivor.pk)
    assert info.value.detail == {"from": ["不能把客户合并到它自己。"]}


def test_the_opposite_merge_fails_cleanly_after_the_first(org, pair):
    """A into B and B into A: rows are locked in pk order, the second finds A merged."""
    merge(org, pair)
    before = state()
    with pytest.raises(AlreadyMerged) as info:
        customer_merge(actor=org.gm, survivor_id=pair.merged.pk, merged_id=pair.survivor.pk)
    assert (info.value.code, info.value.http_status) == ("already_merged", 409)
    with pytest.raises(AlreadyMerged):
        merge(org, pair)
    assert state() == before


def test_a_deleted_customer_cannot_be_merged(org, pair):
    customer_services.customer_delete(actor=org.director, customer_id=pair.merged.pk)
    with pytest.raises(NotFound):
        merge(org, pair)


def test_the_survivor_must_stay_in_the_actors_scope(org, pair):
    """Taking the other customer's owner could move the survivor out of the actor's scope."""
    director_north = make_user("sales_director", department=org.north, username="director_north")
    # Visible to director_north only as its owner (上海分公司 is outside 华北).
    survivor = add(
        org.gm, "上海华建建材有限公司", owner=director_north.pk, department=org.shanghai.pk
    )
    before = state()
    with pytest.raises(ValidationFailed) as info:
        customer_merge(
            actor=director_north,
            survivor_id=survivor.pk,
            merged_id=pair.merged.pk,
            field_choices={"owner": "merged"},
        )
    assert info.value.detail == {"owner": ["负责人或分支机构超出您的数据范围。"]}
    assert state() == before
    customer_merge(actor=director_north, survivor_id=survivor.pk, merged_id=pair.merged.pk)


def test_a_clashing_record_rolls_the_whole_merge_back(org, pair, monkeypatch):
    from django.db import IntegrityError

    original = links.Link.rows

    class Refusing:
        def __init__(self, manager):
            self.manager = manager

        def filter(self, *args, **kwargs):
            rows = self.manager.filter(*args, **kwargs)

            class Rows:
                def values_list(self, *a, **k):
                    return rows.values_list(*a, **k)

                def update(self, **k):
                    raise IntegrityError("unique")

            return Rows()

    def rows(link):
        manager = original.fget(link)
        return Refusing(manager) if link.model is Attachment else manager

    monkeypatch.setattr(links.Link, "rows", property(rows))
    before = state()
    with pytest.raises(Conflict) as info:
        merge(org, pair)
    assert "附件" in str(info.value.message)
    assert state() == before


# --- reversal --------------------------------------------------------------------------------
def test_reversal_restores_everything(org, pair):
    survivor_before = Customer.objects.filter(pk=pair.survivor.pk).values().get()
    merge(org, pair)
    record = MergeRecord.objects.get()
    restored = customer_merge_reverse(actor=org.admin, merge_id=record.pk)
    assert restored.pk == pair.merged.pk
    merged = Customer.objects.get(pk=pair.merged.pk)
    assert merged.deleted_at is None and merged.merged_into_id is None
    assert merged.credit_code == HUAWEI
    assert set(merged.contacts.values_list("name", flat=True)) == {"王经理", "李总"}
    assert ContactRelation.objects.get(pk=pair.relation.pk).customer_id == merged.pk
    assert SpecialDate.objects.get(pk=pair.special_date.pk).customer_id == merged.pk
    assert Attachment.objects.get(pk=pair.attachment.pk).customer_id == merged.pk
    assert set(merged.tags.values_list("name", flat=True)) == {"重点客户", "华北"}
    assert list(merged.co_owners.all()) == [org.sales_tj]
    survivor = Customer.objects.get(pk=pair.survivor.pk)
    assert set(survivor.tags.values_list("name", flat=True)) == {"重点客户"}
    assert list(survivor.co_owners.all()) == []
    assert survivor.contacts.count() == 0
    after = Customer.objects.filter(pk=pair.survivor.pk).values().get()
    changed = {k for k in after if after[k] != survivor_before[k]}
    assert changed == {"updated_at"}
    record.refresh_from_db()
    assert record.reversed_by == org.admin and record.reversed_at is not None
    assert (
        AuditEvent.objects.filter(action="customer.merge_reversed", customer_id=survivor.pk).count()
        == 1
    )
    assert AuditEvent.objects.filter(action="customer.unmerged", customer_id=merged.pk).count() == 1
    # the merged customer's history leaves the survivor's timeline again
    timeline = selectors.customer_timeline(customer_id=survivor.pk)
    assert not timeline.filter(customer_id=merged.pk).exists()


def test_reversal_keeps_fields_edited_after_the_merge(org, pair):
    merge(org, pair)
    customer_services.customer_update(
        actor=org.director, customer_id=pair.survivor.pk, data={"legal_representative": "赵新"}
    )
    customer_merge_reverse(actor=org.keeper, merge_id=MergeRecord.objects.get().pk)
    survivor = Customer.objects.get(pk=pair.survivor.pk)
    assert survivor.legal_representative == "赵新"
    assert survivor.credit_code == ""
    assert survivor.industry is None
    event = AuditEvent.objects.get(action="customer.merge_reversed")
    assert "法定代表人" in event.note


def test_records_added_to_the_survivor_after_the_merge_stay(org, pair):
    merge(org, pair)
    new = customer_services.contact_create(
        actor=org.director, customer_id=pair.survivor.pk, data={"name": "新联系人"}
    )
    customer_merge_reverse(actor=org.admin, merge_id=MergeRecord.objects.get().pk)
    assert Contact.objects.get(pk=new.pk).customer_id == pair.survivor.pk


@pytest.mark.parametrize("user", ["director", "gm", "sales_bj"])
def test_only_administrators_and_archive_keepers_reverse(org, pair, user):
    merge(org, pair)
    before = state()
    with pytest.raises(PermissionDenied):
        customer_merge_reverse(actor=getattr(org, user), merge_id=MergeRecord.objects.get().pk)
    assert state() == before


def test_reversal_within_the_recycle_bin_period_default_and_override(org, pair):
    with time_machine.travel(timezone.now() - dt.timedelta(days=31)):
        merge(org, pair)
    record = MergeRecord.objects.get()
    with pytest.raises(ValidationFailed) as info:
        customer_merge_reverse(actor=org.admin, merge_id=record.pk)
    assert str(info.value.message) == "已超过回收站保留期（30天），不能撤销合并。"
    policy_set(actor=org.admin, values={"customers.recycle_bin_days": 60}, note="延长")
    customer_merge_reverse(actor=org.admin, merge_id=record.pk)
    assert Customer.objects.get(pk=pair.merged.pk).deleted_at is None


def test_a_merge_is_reversed_once(org, pair):
    merge(org, pair)
    record = MergeRecord.objects.get()
    customer_merge_reverse(actor=org.admin, merge_id=record.pk)
    with pytest.raises(Conflict):
        customer_merge_reverse(actor=org.admin, merge_id=record.pk)
    with pytest.raises(NotFound):
        customer_merge_reverse(actor=org.admin, merge_id=record.pk + 100)


def test_a_later_merge_must_be_reversed_first(org, pair):
    third = add(org.sales_bj, "华建建材厂")
    merge(org, pair)
    customer_merge(actor=org.director, survivor_id=third.pk, merged_id=pair.survivor.pk)
    first = MergeRecord.objects.order_by("pk").first()
    with pytest.raises(ValidationFailed):
        customer_merge_reverse(actor=org.admin, merge_id=first.pk)
    customer_merge_reverse(actor=org.admin, merge_id=MergeRecord.objects.order_by("pk").last().pk)
    customer_merge_reverse(actor=org.admin, merge_id=first.pk)
    assert Customer.objects.alive().count() == 3


def test_merge_again_after_a_reversal(org, pair):
    merge(org, pair)
    customer_merge_reverse(actor=org.admin, merge_id=MergeRecord.objects.get().pk)
    merge(org, pair)
    assert MergeRecord.objects.filter(reversed_at__isnull=True).count() == 1
    assert Customer.objects.get(pk=pair.merged.pk).merged_into_id == pair.survivor.pk


# --- "not a duplicate" ---------------------------------------------------------------------
def test_dismissal_is_recorded_once_and_audited_on_both(org, pair):
    dismissal = duplicate_dismiss(
        actor=org.sales_bj, customer_id=pair.merged.pk, other_id=pair.survivor.pk, reason="两家公司"
    )
    assert (dismissal.customer_low_id, dismissal.customer_high_id) == (
        pair.survivor.pk,
        pair.merged.pk,
    )
    again = duplicate_dismiss(
        actor=org.sales_bj, customer_id=pair.survivor.pk, other_id=pair.merged.pk
    )
    assert again.pk == dismissal.pk
    events = AuditEvent.objects.filter(action="duplicate.dismissed")
    assert sorted(events.values_list("customer_id", flat=True)) == [
        pair.survivor.pk,
        pair.merged.pk,
    ]
    assert events.get(customer_id=pair.survivor.pk).note == (
        f"与客户“华建建材（北京）有限公司”（#{pair.merged.pk}）不是同一客户。两家公司"
    )


def test_dismissal_needs_both_customers_in_change_scope(org, pair):
    shanghai = add(org.sales_sh, "上海华建建材有限公司")
    with pytest.raises(NotFound):
        duplicate_dismiss(actor=org.sales_bj, customer_id=pair.survivor.pk, other_id=shanghai.pk)
    with pytest.raises(PermissionDenied):
        duplicate_dismiss(actor=org.service, customer_id=pair.survivor.pk, other_id=pair.merged.pk)
    with pytest.raises(ValidationFailed):
        duplicate_dismiss(
            actor=org.sales_bj, customer_id=pair.survivor.pk, other_id=pair.survivor.pk
        )
