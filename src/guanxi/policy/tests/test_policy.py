"""Policy registry: every rule readable at its default and with a published override,
versions take effect from their effective moment, bad values are refused in Chinese."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from guanxi import policy
from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.policy import registry
from guanxi.policy.models import PolicyVersion
from guanxi.policy.selectors import policy_resolve
from guanxi.policy.services import policy_set, policy_version_create, policy_version_publish

RULES = sorted(registry.REGISTRY)


@pytest.mark.parametrize("key", RULES)
def test_every_rule_default_then_override(org, key):
    rule = registry.REGISTRY[key]
    assert policy.get(key) == rule.default
    assert policy.version_at() == 0
    version = policy_set(actor=org.admin, values={key: rule.example}, note=f"test {key}")
    assert policy.get(key) == rule.example
    assert rule.example != rule.default
    assert policy.version_at() == version.number


@pytest.mark.parametrize("key", RULES)
def test_every_rule_refuses_a_value_of_the_wrong_type(org, key):
    rule = registry.REGISTRY[key]
    wrong = "not-a-number" if rule.kind in {"int", "decimal", "bool", "list", "dict"} else 42
    with pytest.raises(ValidationFailed) as info:
        policy_set(actor=org.admin, values={key: wrong}, note="bad")
    assert key in info.value.detail
    assert PolicyVersion.objects.count() == 0


def test_override_applies_from_its_effective_moment(org):
    later = timezone.now() + dt.timedelta(days=10)
    policy_set(
        actor=org.admin,
        values={"customers.filing_deadline_workdays": 3},
        note="from next week",
        effective_from=later,
    )
    assert policy.get("customers.filing_deadline_workdays") == 5
    assert policy.get("customers.filing_deadline_workdays", at=later) == 3
    assert policy.get("customers.filing_deadline_workdays", at=later - dt.timedelta(seconds=1)) == 5


def test_versions_overlay_in_order(org):
    t0 = timezone.now() - dt.timedelta(days=2)
    policy_set(
        actor=org.admin,
        values={"customers.freshness_days": 90, "customers.recycle_bin_days": 60},
        note="v1",
        effective_from=t0,
    )
    policy_set(
        actor=org.admin,
        values={"customers.freshness_days": 30},
        note="v2",
        effective_from=t0 + dt.timedelta(days=1),
    )
    assert policy.get("customers.freshness_days") == 30
    assert policy.get("customers.recycle_bin_days") == 60  # v2 did not touch it
    assert policy.get("customers.freshness_days", at=t0 + dt.timedelta(hours=1)) == 90


def test_drafts_do_not_apply_until_published(org):
    version = policy_version_create(
        actor=org.admin,
        note="draft",
        effective_from=timezone.now(),
        values={"security.lockout_failures": 3},
    )
    assert policy.get("security.lockout_failures") == 5
    policy_version_publish(actor=org.admin, version_id=version.pk)
    assert policy.get("security.lockout_failures") == 3
    with pytest.raises(ValidationFailed):
        policy_version_publish(actor=org.admin, version_id=version.pk)


def test_only_administrators_edit_policy(org):
    with pytest.raises(PermissionDenied):
        policy_set(actor=org.sales_bj, values={"customers.freshness_days": 1}, note="x")
    with pytest.raises(PermissionDenied):
        policy_set(actor=org.gm, values={"customers.freshness_days": 1}, note="x")


def test_rule_checks_give_chinese_messages(org):
    with pytest.raises(ValidationFailed) as info:
        policy_set(
            actor=org.admin,
            values={
                "grading.bands": [
                    {"code": "A", "label": "A", "min": 60},
                    {"code": "B", "label": "B", "min": 80},
                ]
            },
            note="x",
        )
    assert "从高到低" in info.value.detail["grading.bands"][0]
    with pytest.raises(ValidationFailed) as info:
        policy_set(
            actor=org.admin, values={"customers.required_fields": ["name", "shoe_size"]}, note="x"
        )
    assert "shoe_size" in info.value.detail["customers.required_fields"][0]
    with pytest.raises(ValidationFailed) as info:
        policy_set(actor=org.admin, values={"credit.warning_share": "1.5"}, note="x")
    assert "0到1" in info.value.detail["credit.warning_share"][0]
    with pytest.raises(ValidationFailed) as info:
        policy_set(actor=org.admin, values={"no.such.rule": 1}, note="x")
    assert "key" in info.value.detail


def test_publishing_is_audited(org):
    from guanxi.audit.models import AuditEvent

    policy_set(actor=org.admin, values={"customers.freshness_days": 60}, note="x")
    actions = list(
        AuditEvent.objects.filter(object_type="policy.policyversion").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["policy.version_created", "policy.version_published"]
    created = AuditEvent.objects.get(action="policy.version_created")
    assert created.changes == {"customers.freshness_days": [None, 60]}


def test_returned_values_cannot_corrupt_the_pack(org):
    types = policy.get("customers.types")
    types.append({"code": "x", "label": "x"})
    assert len(policy.get("customers.types")) == 4


def test_resolved_values_follow_the_clock_across_effective_moments(org):
    # Values are memoised per interval between effective moments: a version that takes
    # effect later is seen once its moment comes, without reloading the versions.
    later = timezone.now() + dt.timedelta(days=3)
    policy_set(
        actor=org.admin,
        values={"customers.freshness_days": 45},
        note="later",
        effective_from=later,
    )
    before = later - dt.timedelta(days=1)
    assert policy.get("customers.freshness_days", at=before) == 180
    assert policy.get("customers.freshness_days", at=later) == 45
    assert policy.get("customers.freshness_days", at=before) == 180
    assert policy_resolve("customers.freshness_days", at=later + dt.timedelta(days=400)) == (
        45,
        policy.version_at(later),
    )
    with time_machine.travel(later + dt.timedelta(hours=1)):
        assert policy.get("customers.freshness_days") == 45


def test_memoised_lists_cannot_corrupt_the_pack(org):
    policy_set(
        actor=org.admin, values={"customers.required_fields": ["name", "phone"]}, note="short"
    )
    required = policy.get("customers.required_fields")
    required.append("fax")
    assert policy.get("customers.required_fields") == ["name", "phone"]


def test_a_publish_is_seen_at_the_next_read(org):
    assert policy.get("compliance.mask_phones") is True
    policy_set(actor=org.admin, values={"compliance.mask_phones": False}, note="off")
    assert policy.get("compliance.mask_phones") is False
