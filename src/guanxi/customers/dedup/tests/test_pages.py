"""Duplicate pages: the create page's warning, the review list, "not a duplicate", the merge
page, the merged-away URL and the merge records with reversal. Each with the permission
matrix: anonymous → login, no permission → 403, out of scope → 404."""

import pytest
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import make_user
from guanxi.customers.dedup import selectors
from guanxi.customers.dedup.models import DuplicateDismissal, MergeRecord
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Contact, Customer


def login(client, user):
    client.force_login(user)
    return client


def assert_login_redirect(response):
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def state():
    return (
        list(Customer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values("pk", "customer_id")),
        MergeRecord.objects.count(),
        DuplicateDismissal.objects.count(),
    )


# --- the create page ---------------------------------------------------------------------------
class TestCreateWarning:
    url = reverse("customer_create")

    def test_a_possible_duplicate_is_shown_and_needs_confirmation(self, client, org):
        mine = add(org.sales_bj, "北京华建建材有限公司")
        theirs = add(org.sales_sh, "上海华建建材有限公司")
        c = login(client, org.sales_bj)
        response = c.post(self.url, {"name": "华建建材（北京）有限公司", "secrecy_level": "normal"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "可能重复建档" in html
        assert f'href="{reverse("customer_detail", args=[mine.pk])}"' in html
        assert "上海华建建材有限公司" in html
        assert f'href="{reverse("customer_detail", args=[theirs.pk])}"' not in html
        assert "不在您的数据范围内" in html
        assert "相似度 100" in html
        assert 'name="confirm_duplicate"' in html
        assert "仍然创建" in html
        assert Customer.objects.count() == 2
        response = c.post(
            self.url,
            {
                "name": "华建建材（北京）有限公司",
                "secrecy_level": "normal",
                "confirm_duplicate": "on",
            },
        )
        created = Customer.objects.get(name="华建建材（北京）有限公司")
        assert response.status_code == 302
        assert response["Location"] == reverse("customer_detail", args=[created.pk])

    def test_a_distinct_name_files_straight_away(self, client, org):
        add(org.sales_bj, "北京华建建材有限公司")
        response = login(client, org.sales_bj).post(
            self.url, {"name": "北京华建物流有限公司", "secrecy_level": "normal"}
        )
        assert response.status_code == 302


# --- the review list ---------------------------------------------------------------------------
@pytest.fixture
def planted(org):
    class Planted:
        bj_a = add(org.sales_bj, "北京华建建材有限公司")
        bj_b = add(org.sales_bj, "华建建材（北京）有限公司")
        sh_a = add(org.sales_sh, "上海星河建材有限公司")
        sh_b = add(org.sales_sh, "星河建材厂")
        brand = add(org.sales_bj, "北京华建物流有限公司")

    return Planted


class TestReviewList:
    url = reverse("duplicate_list")

    def test_anonymous_and_no_permission(self, client, org):
        assert_login_redirect(client.get(self.url))
        nobody = make_user(department=org.beijing, username="nobody")
        assert login(client, nobody).get(self.url).status_code == 403

    def test_lists_pairs_with_score_and_reason(self, client, org, planted):
        html = login(client, org.director).get(self.url).content.decode()
        assert html.count('class="duplicate-pair"') == 2
        assert "华建建材（北京）有限公司" in html and "星河建材厂" in html
        assert "北京华建物流有限公司" not in html
        assert "名称比对键相同" in html and "名称相似" in html
        assert ">100<" in html and ">94<" in html
        assert reverse("customer_merge", args=[planted.bj_a.pk, planted.bj_b.pk]) in html
        assert "不是重复" in html

    def test_is_scoped(self, client, org, planted):
        html = login(client, org.sales_bj).get(self.url).content.decode()
        assert "华建建材（北京）有限公司" in html
        assert "星河建材厂" not in html
        # a salesperson may dismiss but not merge (no delete permission)
        assert "不是重复" in html
        assert reverse("customer_merge", args=[planted.bj_a.pk, planted.bj_b.pk]) not in html

    def test_read_only_role_sees_pairs_without_actions(self, client, org, planted):
        html = login(client, org.service).get(self.url).content.decode()
        assert html.count('class="duplicate-pair"') == 2
        assert 'action="/customers/duplicates/dismiss/"' not in html
        assert "/merge/" not in html

    def test_threshold(self, client, org, planted):
        html = login(client, org.director).get(self.url, {"threshold": 100}).content.decode()
        assert html.count('class="duplicate-pair"') == 1
        html = login(client, org.director).get(self.url, {"threshold": "x"}).content.decode()
        assert html.count('class="duplicate-pair"') == 2

    def test_keyset_pages(self, client, org, planted, monkeypatch):
        monkeypatch.setattr(selectors, "REVIEW_PAGE_SIZE", 1)
        c = login(client, org.director)
        first = c.get(self.url)
        assert first.content.decode().count('class="duplicate-pair"') == 1
        next_url = first.context["next_url"]
        second = c.get(next_url)
        assert second.content.decode().count('class="duplicate-pair"') == 1
        assert first.context["rows"][0]["pair"] != second.context["rows"][0]["pair"]
        third = c.get(second.context["next_url"])
        assert third.context["rows"] == [] and third.context["next_url"] is None

    def test_queries_do_not_grow_with_pairs(
        self, client, org, planted, django_assert_max_num_queries
    ):
        c = login(client, org.director)
        c.get(self.url)
        for index in range(10):
            add(org.sales_bj, f"{'甲乙丙丁戊己庚辛壬癸'[index]}方建材有限公司")
            add(org.sales_bj, f"{'甲乙丙丁戊己庚辛壬癸'[index]}方建材厂")
        with django_assert_max_num_queries(12):
            response = c.get(self.url)
        assert response.content.decode().count('class="duplicate-pair"') == 12


class TestDismiss:
    url = reverse("duplicate_dismiss")

    def post(self, client, user, planted, **extra):
        data = {"first": planted.bj_a.pk, "second": planted.bj_b.pk, "reason": "两家公司", **extra}
        return login(client, user).post(self.url, data)

    def test_dismissed_pair_is_no_longer_listed(self, client, org, planted):
        response = self.post(
            client, org.sales_bj, planted, next=reverse("duplicate_list") + "?threshold=85"
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("duplicate_list") + "?threshold=85"
        assert DuplicateDismissal.objects.get().reason == "两家公司"
        assert AuditEvent.objects.filter(action="duplicate.dismissed").count() == 2
        html = client.get(reverse("duplicate_list")).content.decode()
        assert "华建建材（北京）有限公司" not in html

    def test_foreign_next_is_ignored(self, client, org, planted):
        response = self.post(client, org.sales_bj, planted, next="https://evil.example/")
        assert response["Location"] == reverse("duplicate_list")

    def test_permission_matrix(self, client, org, planted):
        before = state()
        assert_login_redirect(client.post(self.url, {"first": 1, "second": 2}))
        assert self.post(client, org.service, planted).status_code == 403
        assert self.post(client, org.sales_sh, planted).status_code == 404
        assert login(client, org.sales_bj).get(self.url).status_code == 405
        assert self.post(client, org.sales_bj, planted, first="x").status_code == 404
        assert state() == before


# --- the merge page ------------------------------------------------------------------------------
class TestMergePage:
    def url(self, pair):
        return reverse("customer_merge", args=[pair.survivor.pk, pair.merged.pk])

    def test_comparison_with_defaults_and_what_moves(self, client, org, pair):
        response = login(client, org.director).get(self.url(pair))
        assert response.status_code == 200
        html = response.content.decode()
        assert "北京华建建材有限公司" in html and "华建建材（北京）有限公司" in html
        # differing fields have radios; the survivor's value is the default …
        assert 'name="phone" id="f-phone-s" value="survivor" checked' in html
        assert "********8888" in html and "010-66668888" not in html  # not the director's own
        # … unless it is empty
        assert 'name="credit_code" id="f-credit_code-m" value="merged" checked' in html
        assert "联系人 2" in html and "附件 1" in html and "标签 2" in html
        assert 'class="table-success"' not in html
        assert reverse("customer_merge", args=[pair.merged.pk, pair.survivor.pk]) in html

    def test_preview_then_confirm(self, client, org, pair):
        c = login(client, org.director)
        preview = c.post(self.url(pair), {"step": "preview", "phone": "merged"})
        assert preview.status_code == 200
        html = preview.content.decode()
        assert 'class="table-success"' in html and 'id="confirm-merge"' in html
        assert 'name="phone" id="f-phone-m" value="merged" checked' in html
        assert Customer.objects.get(pk=pair.merged.pk).deleted_at is None
        done = c.post(self.url(pair), {"step": "confirm", "phone": "merged"})
        assert done.status_code == 302
        assert done["Location"] == reverse("customer_detail", args=[pair.survivor.pk])
        survivor = Customer.objects.get(pk=pair.survivor.pk)
        assert survivor.phone == "010-12345678"
        assert survivor.contacts.count() == 2
        # the survivor's page shows the merged customer's records and history
        html = c.get(done["Location"]).content.decode()
        assert "王经理" in html and "营业执照.pdf" in html
        assert "合并客户档案（保留）" in html and "客户档案被合并" in html
        assert "华建建材（北京）有限公司" in html  # the merged customer's own history rows

    def test_merged_away_url_leads_to_the_survivor(self, client, org, pair):
        login(client, org.director).post(self.url(pair), {"step": "confirm"})
        merged_url = reverse("customer_detail", args=[pair.merged.pk])
        response = login(client, org.sales_bj).get(merged_url)
        assert response.status_code == 302
        assert response["Location"] == reverse("customer_detail", args=[pair.survivor.pk])
        assert login(client, org.sales_sh).get(merged_url).status_code == 404
        assert (
            login(client, org.sales_bj).get(reverse("customer_detail", args=[999999])).status_code
            == 404
        )

    def test_permission_matrix(self, client, org, pair):
        before = state()
        url = self.url(pair)
        assert_login_redirect(client.get(url))
        assert login(client, org.sales_bj).get(url).status_code == 403  # no delete permission
        assert login(client, org.service).post(url, {"step": "confirm"}).status_code == 403
        director_east = make_user("sales_director", department=org.east, username="director_east")
        assert login(client, director_east).post(url, {"step": "confirm"}).status_code == 404
        same = reverse("customer_merge", args=[pair.survivor.pk, pair.survivor.pk])
        assert login(client, org.director).get(same).status_code == 404
        assert state() == before

    def test_a_refused_merge_shows_the_message(self, client, org, pair):
        director_north = make_user("sales_director", department=org.north, username="dn")
        survivor = add(
            org.gm, "上海华建建材有限公司", owner=director_north.pk, department=org.shanghai.pk
        )
        url = reverse("customer_merge", args=[survivor.pk, pair.merged.pk])
        response = login(client, director_north).post(url, {"step": "confirm", "owner": "merged"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "保存后该客户将超出您的数据范围，请检查负责人和分支机构。" in html
        assert "负责人或分支机构超出您的数据范围。" in html
        assert MergeRecord.objects.count() == 0


# --- merge records and reversal ------------------------------------------------------------------
class TestMergeRecords:
    def merge(self, client, org, pair):
        login(client, org.director).post(
            reverse("customer_merge", args=[pair.survivor.pk, pair.merged.pk]), {"step": "confirm"}
        )
        return MergeRecord.objects.get()

    def test_list_with_reversal_for_administrators(self, client, org, pair):
        record = self.merge(client, org, pair)
        reverse_url = reverse("merge_reverse", args=[record.pk])
        html = login(client, org.admin).get(reverse("merge_list")).content.decode()
        assert "华建建材（北京）有限公司" in html and reverse_url in html
        html = login(client, org.director).get(reverse("merge_list")).content.decode()
        assert "华建建材（北京）有限公司" in html and reverse_url not in html
        html = login(client, org.sales_sh).get(reverse("merge_list")).content.decode()
        assert "华建建材（北京）有限公司" not in html

    def test_reverse(self, client, org, pair):
        record = self.merge(client, org, pair)
        url = reverse("merge_reverse", args=[record.pk])
        before = state()
        client.logout()
        assert_login_redirect(client.post(url))
        assert login(client, org.sales_bj).post(url).status_code == 403
        assert login(client, org.director).post(url).status_code == 403
        assert login(client, org.admin).get(url).status_code == 405
        assert state() == before
        response = login(client, org.keeper).post(url)
        assert response["Location"] == reverse("customer_detail", args=[pair.merged.pk])
        assert Customer.objects.get(pk=pair.merged.pk).deleted_at is None
        again = login(client, org.keeper).post(url)
        assert again["Location"] == reverse("merge_list")
