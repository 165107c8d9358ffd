"""Writing policy: drafts, values, publishing. Every step is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.policy import registry
from guanxi.policy.models import PolicyValue, PolicyVersion
from guanxi.policy.selectors import clear_cache


def _require_admin(actor: Any) -> None:
    if not actor.has_perm("policy.change_policyversion"):
        raise PermissionDenied()


def policy_value_check(*, key: str, value: Any) -> None:
    """Raise ValidationFailed({key: [...]}) unless the value fits the registry rule."""
    try:
        rule = registry.get_rule(key)
    except KeyError:
        raise ValidationFailed(detail={"key": [_("未知的规则：%(key)s") % {"key": key}]}) from None
    try:
        registry.validate(rule, value)
    except ValidationError as exc:
        raise ValidationFailed(detail={key: list(exc.messages)}) from None


@transaction.atomic
def policy_version_create(
    *, actor: Any, note: str, effective_from: dt.datetime, values: dict[str, Any]
) -> PolicyVersion:
    """A draft version overriding `values`; nothing changes until it is published."""
    _require_admin(actor)
    for key, value in values.items():
        policy_value_check(key=key, value=value)
    number = (PolicyVersion.objects.select_for_update().aggregate(n=Max("number"))["n"] or 0) + 1
    version = PolicyVersion.objects.create(
        number=number, note=note, effective_from=effective_from, created_by=actor
    )
    PolicyValue.objects.bulk_create(
        [PolicyValue(version=version, key=key, value=value) for key, value in values.items()]
    )
    audit.record(
        actor=actor,
        action="policy.version_created",
        obj=version,
        changes={key: [None, value] for key, value in values.items()},
    )
    return version


@transaction.atomic
def policy_version_update(
    *, actor: Any, version_id: int, note: str, effective_from: dt.datetime, values: dict[str, Any]
) -> PolicyVersion:
    """Replace a draft's note, effective moment and values. Published versions are frozen:
    a change to policy in force is always a new version."""
    _require_admin(actor)
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None or version.status != PolicyVersion.Status.DRAFT:
        raise ValidationFailed(_("该版本已发布，不能修改。"))
    for key, value in values.items():
        policy_value_check(key=key, value=value)
    before = {"note": version.note, "effective_from": version.effective_from}
    before.update({item.key: item.value for item in version.values.all()})
    version.note, version.effective_from = note, effective_from
    version.save(update_fields=["note", "effective_from"])
    version.values.all().delete()
    PolicyValue.objects.bulk_create(
        [PolicyValue(version=version, key=key, value=value) for key, value in values.items()]
    )
    after = {"note": note, "effective_from": effective_from, **values}
    changes = audit.diff(before, after)
    changes.update({key: [value, None] for key, value in before.items() if key not in after})
    if changes:
        audit.record(actor=actor, action="policy.version_updated", obj=version, changes=changes)
    return version


@transaction.atomic
def policy_version_publish(*, actor: Any, version_id: int) -> PolicyVersion:
    _require_admin(actor)
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None or version.status == PolicyVersion.Status.PUBLISHED:
        raise ValidationFailed(_("只能发布草稿状态的策略版本。"))
    for item in version.values.all():
        policy_value_check(key=item.key, value=item.value)
    version.status = PolicyVersion.Status.PUBLISHED
    version.published_by = actor
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_by", "published_at"])
    audit.record(actor=actor, action="policy.version_published", obj=version)
    transaction.on_commit(clear_cache)
    clear_cache()
    return version


def policy_set(
    *, actor: Any, values: dict[str, Any], note: str, effective_from: dt.datetime | None = None
) -> PolicyVersion:
    """Create and publish a version in one step (admin edits, tests, fixtures)."""
    with transaction.atomic():
        version = policy_version_create(
            actor=actor, note=note, effective_from=effective_from or timezone.now(), values=values
        )
        return policy_version_publish(actor=actor, version_id=version.pk)
