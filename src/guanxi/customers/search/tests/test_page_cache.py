"""Whole list pages cached between requests (customers.search.page_cache, migration 0014):
a page is served again only to the session it was built for, with that request's CSRF
token, and never after a change to what it shows, whatever wrote the change."""

import re
import threading

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.core.testing import make_customer
from guanxi.customers.batch import NewCustomer, customer_create_many
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.search import bulk, page_cache, viewer
from guanxi.policy.services import policy_set

# Committed writes, as in production: on PostgreSQL a transaction that wrote customer rows
# is never answered from the cache (a test inside one would only ever render).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_cache")]

URL = reverse("customer_list")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def renders(monkeypatch):
    """How many times page_cache rendered a page (a cached answer renders nothing)."""
    count = [0]
    render = page_cache.render_to_string

    def counting(*args, **kwargs):
        count[0] += 1
        return render(*args, **kwargs)

    monkeypatch.setattr(page_cache, "render_to_string", counting)
    return count


@pytest.fixture
def book(org):
    return {
        "bj": make_customer(
            org.sales_bj,
            name="北京星河建材有限公司",
            contacts=[{"name": "王经理", "mobile": "13911112222"}],
        ),
        "tj": make_customer(org.sales_tj, name="天津港湾贸易有限公司"),
    }


def signed_in(user, **extra):
    client = Client(**extra)
    client.force_login(user)
    return client


def get(client, **params):
    """(html, number of queries) of one list request."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def filed_by_batch(actor, name, tags=None):
    """A customer filed as the importer files them (customers.batch)."""
    item = NewCustomer(data={"name": name, "owner": actor.pk}, tags=tags)
    (outcome,) = customer_create_many(actor=actor, items=[item])
    assert outcome.error is None


def page_token():
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM customers_cache_version WHERE name = 'customers:0'")
        return cursor.fetchone()[0]


def without_tokens(html):
    return TOKEN.sub("", html).replace(csrf_header(html), "")


def csrf_header(html):
    return re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)


def test_the_same_request_is_answered_from_the_cache(org, book, renders):
    client = signed_in(org.sales_bj)
    first, rendered = get(client)
    second, cached = get(client)
    assert renders[0] == 1
    assert "北京星河建材有限公司" in second
    assert cached < rendered
    assert without_tokens(second) == without_tokens(first)
    # other query strings, and the htmx partial, are other pages
    searched, _count = get(client, q="星河")
    assert "北京星河建材有限公司" in searched and searched != second
    partial = client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert renders[0] == 3 and "<html" not in partial and "北京星河建材有限公司" in partial
    assert client.get(URL, headers={"HX-Request": "true"}).content.decode() == partial
    assert renders[0] == 3


def test_with_the_setting_off_every_request_renders(org, book, settings, renders):
    settings.LIST_PAGE_CACHE = False
    client = signed_in(org.sales_bj)
    get(client)  # warms the per-user facts (viewer) and the menu
    _html, rendered = get(client)
    _html, again = get(client)
    assert again == rendered and renders[0] == 0
    settings.LIST_PAGE_CACHE = True
    get(client)
    assert get(client)[1] < rendered and renders[0] == 1


def test_a_cached_page_carries_this_requests_valid_csrf_token(org, book):
    client = signed_in(org.sales_bj, enforce_csrf_checks=True)
    get(client)
    html, _count = get(client)  # from the cache
    tokens = TOKEN.findall(html)
    assert tokens and not any(token.startswith("gx-csrf-") for token in tokens)
    assert set(tokens) == {csrf_header(html)}
    # the token works: the language form posts with it
    response = client.post(
        reverse("set_language"), {"language": "en", "next": URL, "csrfmiddlewaretoken": tokens[0]}
    )
    assert response.status_code == 302
    refused = client.post(
        reverse("set_language"), {"language": "en", "next": URL, "csrfmiddlewaretoken": "x" * 64}
    )
    assert refused.status_code == 403


def test_pages_are_never_shared_between_users_or_sessions(org, book, renders):
    wide = signed_in(org.supervisor_north)
    html, _count = get(wide)
    assert "天津港湾贸易有限公司" in html
    narrow = signed_in(org.sales_bj)
    html, _count = get(narrow)
    assert "天津港湾贸易有限公司" not in html and "北京星河建材有限公司" in html
    assert org.sales_bj.display_name in html
    # a second session of the same user renders its own page
    other_session = signed_in(org.sales_bj)
    get(other_session)
    assert renders[0] == 3
    get(other_session)
    get(narrow)
    assert renders[0] == 3


@pytest.mark.parametrize(
    "change, shown",
    [
        (lambda book: Customer.objects.filter(pk=book["bj"].pk).update(name="北京新名称有限公司"),
         "北京新名称有限公司"),
        (lambda book: Contact.objects.filter(customer=book["bj"]).update(name="李主任"),
         "李主任"),
        (lambda book: book["bj"].tags.add(Tag.objects.create(name="重点客户")), "重点客户"),
        (lambda book: make_customer(book["org"].sales_bj, name="北京第二家客户有限公司"),
         "北京第二家客户有限公司"),
        (lambda book: filed_by_batch(book["org"].sales_bj, "北京第三家客户有限公司"),
         "北京第三家客户有限公司"),
        (lambda book: filed_by_batch(book["org"].sales_bj, "北京第四家客户有限公司",
                                     tags=["批量标签"]),
         "批量标签"),
    ],
    ids=["customer-update", "contact-update", "tag-added", "customer-created", "batch-created",
         "batch-tagged"],
)  # fmt: skip
def test_every_write_to_what_a_page_shows_is_seen_at_once(org, book, change, shown, renders):
    client = signed_in(org.sales_bj)
    get(client)
    assert shown not in get(client)[0]
    assert renders[0] == 1  # the second answer came from the cache
    change({**book, "org": org})
    assert shown in get(client)[0]


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_batch_replaces_the_sqlite_token_once_not_per_row(org, book):
    """While the search index is paused (the import's inserts), new customers, contacts
    and tag links leave the token alone (migration 0019): paused() replaced it once, in
    the same transaction. Outside, each insert still replaces it."""
    before = page_token()
    with transaction.atomic():
        with bulk.paused():
            bumped = page_token()
            assert bumped != before
            customer = make_customer(
                org.sales_bj, name="北京暂停期间有限公司", contacts=[{"name": "赵经理"}]
            )
            customer.tags.add(Tag.objects.create(name="暂停期间"))
            assert page_token() == bumped
            bulk.index_docs(
                customer_ids=[customer.pk],
                contact_ids=list(customer.contacts.values_list("pk", flat=True)),
            )
        customer.tags.add(Tag.objects.create(name="暂停之后"))
        assert page_token() != bumped


def test_raw_sql_writes_and_co_owners_are_seen(org, book, renders):
    client = signed_in(org.sales_bj)
    get(client)
    assert "天津港湾贸易有限公司" not in get(client)[0]
    assert renders[0] == 1
    book["tj"].co_owners.add(org.sales_bj)  # now in sales_bj's scope
    assert "天津港湾贸易有限公司" in get(client)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_contact SET mobile = %s WHERE customer_id = %s",
            ["13977778888", book["bj"].pk],
        )
    assert "13977778888" in get(client)[0]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customer_co_owners")
    assert "天津港湾贸易有限公司" not in get(client)[0]


def test_policy_language_and_messages_are_respected(org, book):
    client = signed_in(org.supervisor_north)
    get(client)
    assert "139****2222" in get(client)[0]
    policy_set(actor=org.admin, values={"compliance.mask_phones": False}, note="内部试点")
    assert "13911112222" in get(client)[0]
    client.cookies["django_language"] = "en"
    assert '<html lang="en">' in get(client)[0]
    del client.cookies["django_language"]
    assert '<html lang="zh-hans">' in get(client)[0]
    # a waiting flash message is shown, not hidden behind a cached page
    get(client)
    message = Message(message_levels.SUCCESS, "已移入回收站。")
    client.cookies["messages"] = CookieStorage(None)._encode([message])
    assert "已移入回收站。" in get(client)[0]
    assert "已移入回收站。" not in get(client)[0]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_transaction_that_wrote_customers_is_never_answered_from_the_cache(org, book):
    """PostgreSQL bumps a token once per transaction (migration 0014): later writes of the
    same transaction must not find pages cached after its first one."""
    client = signed_in(org.sales_bj)
    with transaction.atomic():
        make_customer(org.sales_bj, name="北京事务内客户有限公司")
        assert viewer.versions()["customers:written"] == 1
        get(client)
        Customer.objects.filter(name="北京事务内客户有限公司").update(name="北京改名客户有限公司")
        assert "北京改名客户有限公司" in get(client)[0]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_long_customer_transaction_does_not_hold_up_other_writers(org):
    """One transaction keeps one token row until it commits; another writer takes another
    (FOR UPDATE SKIP LOCKED), so it does not wait for the first to commit."""
    first = make_customer(org.sales_bj, name="北京长事务客户有限公司")
    before = viewer.versions()
    holding, release, outcome = threading.Event(), threading.Event(), {}

    def long_transaction():
        try:
            with transaction.atomic():
                Customer.objects.filter(pk=first.pk).update(address="北京市朝阳区")
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=long_transaction)
    thread.start()
    try:
        assert holding.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '3s'")
            make_customer(org.sales_tj, name="天津并发客户有限公司")
        outcome["after_second"] = viewer.versions()
    finally:
        release.set()
        thread.join(30)
    after = viewer.versions()
    changed = {name for name in before if before[name] != outcome["after_second"].get(name)}
    assert any(name.startswith("customers:") for name in changed)
    assert after != outcome["after_second"]  # the long transaction's token, at its commit


def test_a_cached_page_is_not_served_after_the_permission_to_see_it_is_gone(org, book, renders):
    """Cached pages are answered before the view's permission check: the 'org' token in
    their key is what stops them once a role or permission changes."""
    client = signed_in(org.sales_bj)
    get(client)
    get(client)
    assert renders[0] == 1
    org.sales_bj.groups.clear()
    assert client.get(URL).status_code == 403
    org.sales_bj.is_active = False
    org.sales_bj.save()
    assert client.get(URL).status_code == 302  # signed out: to the login page
