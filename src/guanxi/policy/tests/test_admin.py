"""Policy pack in the admin: drafts with checked values, publishing, read-only history;
the audit log is read-only in the admin."""

import datetime as dt

import pytest
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from guanxi import policy
from guanxi.audit.models import AuditEvent
from guanxi.core.testing import make_user
from guanxi.policy.models import PolicyValue, PolicyVersion
from guanxi.policy.services import policy_set, policy_version_create

KEY = "customers.filing_deadline_workdays"
ADD_URL = reverse_lazy("admin:policy_policyversion_add")
LIST_URL = reverse_lazy("admin:policy_policyversion_changelist")


@pytest.fixture
def administrator(org):
    """The `org` administrator, allowed into the admin (the fixture's is not staff)."""
    org.admin.is_staff = True
    org.admin.save(update_fields=["is_staff"])
    return org.admin


def _version_form(values, *, note="调整建档期限", effective_from=None, initial=0, extra=None):
    moment = timezone.localtime(effective_from or timezone.now() - dt.timedelta(minutes=1))
    data = {
        "note": note,
        "effective_from_0": moment.strftime("%Y-%m-%d"),
        "effective_from_1": moment.strftime("%H:%M:%S"),
        "values-TOTAL_FORMS": str(len(values)),
        "values-INITIAL_FORMS": str(initial),
        "values-MIN_NUM_FORMS": "1",
        "values-MAX_NUM_FORMS": "1000",
        "_save": "保存",
    }
    for index, (key, raw) in enumerate(values):
        data[f"values-{index}-key"] = key
        data[f"values-{index}-value"] = raw
    data.update(extra or {})
    return data


def test_administrator_creates_a_draft_through_the_service(client, administrator):
    client.force_login(administrator)
    page = client.get(ADD_URL)
    assert page.status_code == 200
    # Administrators see what each rule means and its default while they edit.
    assert "新客户建档期限（工作日）" in page.content.decode()
    assert "业务员首次接触新客户后" in page.content.decode()

    response = client.post(ADD_URL, _version_form([(KEY, "3")]))

    assert response.status_code == 302
    version = PolicyVersion.objects.get()
    assert version.status == PolicyVersion.Status.DRAFT
    assert version.number == 1
    assert version.created_by == administrator
    assert {v.key: v.value for v in version.values.all()} == {KEY: 3}
    assert policy.get(KEY) == 5  # a draft changes nothing
    event = AuditEvent.objects.get(action="policy.version_created")
    assert event.source == "admin"
    assert event.actor == administrator
    assert event.changes == {KEY: [None, 3]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [("0", "必须为正数。"), ('"五天"', "应为整数。"), ("{not json", "JSON")],
)
def test_invalid_value_shows_the_chinese_error_and_saves_nothing(
    client, administrator, raw, message
):
    client.force_login(administrator)

    response = client.post(ADD_URL, _version_form([(KEY, raw)]))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert PolicyVersion.objects.count() == 0
    assert PolicyValue.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="policy.").exists()


def test_the_same_rule_twice_in_one_version_is_refused(client, administrator):
    client.force_login(administrator)

    response = client.post(ADD_URL, _version_form([(KEY, "3"), (KEY, "4")]))

    assert response.status_code == 200
    assert "同一规则在一个版本中只能出现一次" in response.content.decode()
    assert PolicyVersion.objects.count() == 0


def test_publish_action_makes_the_new_value_apply(client, administrator):
    draft = policy_version_create(
        actor=administrator,
        note="缩短建档期限",
        effective_from=timezone.now() - dt.timedelta(minutes=1),
        values={KEY: 3},
    )
    client.force_login(administrator)

    response = client.post(
        LIST_URL, {"action": "publish_selected", "_selected_action": [draft.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "已发布：v1" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.PUBLISHED
    assert draft.published_by == administrator
    assert policy.get(KEY) == 3
    assert AuditEvent.objects.get(action="policy.version_published").source == "admin"


def test_published_versions_are_read_only(client, administrator):
    version = policy_set(actor=administrator, values={KEY: 3}, note="已发布")
    client.force_login(administrator)
    url = reverse("admin:policy_policyversion_change", args=[version.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()

    response = client.post(
        url,
        _version_form(
            [(KEY, "9")],
            note="篡改",
            initial=1,
            extra={
                "values-0-id": str(version.values.get().pk),
                "values-0-version": str(version.pk),
            },
        ),
    )
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.note == "已发布"
    assert version.values.get().value == 3
    assert policy.get(KEY) == 3
    assert (
        client.post(
            reverse("admin:policy_policyversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert PolicyVersion.objects.filter(pk=version.pk).exists()


def test_editing_a_draft_is_audited(client, administrator):
    moment = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=7)
    draft = policy_version_create(
        actor=administrator, note="草稿", effective_from=moment, values={KEY: 3}
    )
    value = draft.values.get()
    client.force_login(administrator)

    response = client.post(
        reverse("admin:policy_policyversion_change", args=[draft.pk]),
        _version_form(
            [(KEY, "4")],
            note="草稿（修订）",
            effective_from=moment,
            initial=1,
            extra={"values-0-id": str(value.pk), "values-0-version": str(draft.pk)},
        ),
    )

    assert response.status_code == 302
    assert draft.values.get().value == 4
    event = AuditEvent.objects.get(action="policy.version_updated")
    assert event.changes == {"note": ["草稿", "草稿（修订）"], KEY: [3, 4]}
    assert event.source == "admin"
    assert policy.get(KEY) == 5


def test_people_without_policy_permissions_cannot_edit(client, org):
    sales = make_user("salesperson", department=org.beijing, username="staff_sales", is_staff=True)
    client.force_login(sales)
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, _version_form([(KEY, "3")])).status_code == 403
    assert PolicyVersion.objects.count() == 0


# --- the audit log ---------------------------------------------------------------------------
def test_audit_admin_is_read_only_even_for_a_superuser(client, administrator, org):
    policy_set(actor=administrator, values={KEY: 3}, note="产生审计记录")
    event = AuditEvent.objects.order_by("id").first()
    root = make_user(department=org.hq, username="root", is_staff=True, is_superuser=True)
    for user in (administrator, root):
        client.force_login(user)
        listing = client.get(reverse("admin:audit_auditevent_changelist"), {"q": "policy"})
        assert listing.status_code == 200
        assert "policy.version_published" in listing.content.decode()
        assert (
            client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).status_code == 200
        )
        assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
        assert (
            client.post(reverse("admin:audit_auditevent_add"), {"action": "x"}).status_code == 403
        )
        delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
        change_url = reverse("admin:audit_auditevent_change", args=[event.pk])
        assert client.post(change_url, {"action": "changed"}).status_code == 403
        # No bulk delete either.
        assert "delete_selected" not in listing.content.decode()
    event.refresh_from_db()
    assert event.action.startswith("policy.")
