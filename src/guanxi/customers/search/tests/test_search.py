"""Chinese substring search at scale (customers.search.index): what matches, inside the scope,
and the index kept by the database triggers through every kind of write.

Every search test runs under both plans — the index plan (selective queries) and the LIKE
plan (common queries) — which must give the same rows.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.testing import REAL_CREDIT_CODES, make_customer
from guanxi.customers import selectors, services
from guanxi.customers.models import Contact, Customer
from guanxi.customers.search import index

XIAOMI = REAL_CREDIT_CODES["小米科技有限责任公司"]


@pytest.fixture(autouse=True)
def _fresh_plans():
    index.clear_plan_cache()
    yield
    index.clear_plan_cache()


@pytest.fixture(params=["index", "members", "walk", "like", "small_scope"])
def plan(request, monkeypatch):
    """Force one plan: every query selective (index), every query common and tested by
    membership in its index hits (members) or by LIKE (like), or every scope short of
    everything read from its ids (small_scope_ids) and tested by LIKE. `walk`: no query
    selective by probes — on PostgreSQL every query, of any length, tested by membership
    in the ids its hits read (MEMBER_IDS_VENDORS)."""
    param = request.param
    monkeypatch.setattr(index, "COMMON_MATCHES", 10**9 if param in ("index", "walk") else -1)
    monkeypatch.setattr(index, "MEMBER_MATCHES", 10**9 if param in ("members", "walk") else -1)
    monkeypatch.setattr(index, "MEMBER_SELECTIVE", -1 if param == "walk" else 1500)
    monkeypatch.setattr(index, "MEMBERS_VENDORS", frozenset({connection.vendor}))
    monkeypatch.setattr(index, "SMALL_SHARE", 2.0 if request.param == "small_scope" else -1.0)
    return request.param


@pytest.fixture
def book(org):
    return {
        "xinghe": make_customer(
            org.sales_bj,
            name="北京星河建材有限公司",
            credit_code=XIAOMI,
            phone="010-88886666",
            customer_type="trading",
            contacts=[{"name": "欧阳娜娜", "mobile": "13812345678"}],
        ),
        "gangwan": make_customer(
            org.sales_tj,
            name="天津港湾贸易有限公司",
            customer_type="construction",
            phone="022-66778899",
            contacts=[{"name": "司徒雷", "mobile": "13900001111", "phone": "022-12340000"}],
        ),
        "dongfang": make_customer(
            org.sales_sh,
            name="上海东方星河建设股份有限公司",
            contacts=[{"name": "司马光", "mobile": "13987654321"}],
        ),
    }


def found(actor, search, **filters):
    index.clear_plan_cache()
    return {c.name for c in selectors.customer_list(actor=actor, search=search, **filters)}


XINGHE, GANGWAN, DONGFANG = (
    "北京星河建材有限公司",
    "天津港湾贸易有限公司",
    "上海东方星河建设股份有限公司",
)


def test_one_character_chinese_substring(org, book, plan):
    assert found(org.gm, "港") == {GANGWAN}
    assert found(org.gm, "星") == {XINGHE, DONGFANG}
    # the last character of a name
    assert found(org.gm, "娜") == {XINGHE}
    assert found(org.gm, "光") == {DONGFANG}


def test_two_character_chinese_substring(org, book, plan):
    assert found(org.gm, "星河") == {XINGHE, DONGFANG}
    assert found(org.gm, "港湾") == {GANGWAN}
    assert found(org.gm, "欧阳") == {XINGHE}
    assert found(org.gm, "司马") == {DONGFANG}
    assert found(org.gm, "司") == {GANGWAN, DONGFANG, XINGHE}  # 公司 / 司徒 / 司马
    assert found(org.gm, "河港") == set()


def test_three_and_more_characters(org, book, plan):
    assert found(org.gm, "星河建") == {XINGHE, DONGFANG}
    assert found(org.gm, "星河建材") == {XINGHE}
    assert found(org.gm, "东方星河建设股份") == {DONGFANG}
    assert found(org.gm, "欧阳娜娜") == {XINGHE}
    assert found(org.gm, "建材有限公司") == {XINGHE}


def test_last_four_digits_of_a_contact_mobile(org, book, plan):
    assert found(org.gm, "5678") == {XINGHE}
    assert found(org.gm, "4321") == {DONGFANG}
    assert found(org.gm, "13900001111") == {GANGWAN}


def test_phones_and_credit_code_fragments(org, book, plan):
    assert found(org.gm, "66778899") == {GANGWAN}  # customer phone
    assert found(org.gm, "1234000") == {GANGWAN}  # contact landline
    assert found(org.gm, XIAOMI[4:12]) == {XINGHE}
    assert found(org.gm, XIAOMI.lower()) == {XINGHE}  # any case
    assert found(org.gm, "9111 0108-5513") == {XINGHE}  # the credit code as people type it


def test_short_fragments_match_names_only(org, book, plan):
    """1–2 characters of a number are in most of the archive: short queries search names."""
    assert found(org.gm, "13") == set()
    assert found(org.gm, "56") == set()
    tagged = make_customer(org.sales_bj, name="13号仓储有限公司")
    assert found(org.gm, "13") == {tagged.name}


def test_wildcards_and_quotes_are_literal(org, book, plan):
    assert found(org.gm, "%") == set()
    assert found(org.gm, "_") == set()
    assert found(org.gm, "%%%") == set()
    assert found(org.gm, '"星河"') == set()
    odd = make_customer(org.sales_bj, name='北京100%_纯"净"水有限公司')
    assert found(org.gm, "100%_纯") == {odd.name}
    assert found(org.gm, '"净"') == {odd.name}


def test_blank_and_control_characters(org, book, plan):
    assert len(found(org.gm, "   ")) == 3
    assert found(org.gm, "星\n河") == {XINGHE, DONGFANG}  # the index's field separator is dropped


def test_never_leaves_the_scope(org, book, plan):
    assert found(org.sales_bj, "星河") == {XINGHE}
    assert found(org.sales_bj, "星") == {XINGHE}
    assert found(org.sales_bj, "司马") == set()
    assert found(org.sales_bj, "4321") == set()
    assert found(org.sales_sh, "司马光") == {DONGFANG}
    assert found(org.supervisor_north, "有限公司") == {XINGHE, GANGWAN}
    assert found(org.supervisor_north, "港") == {GANGWAN}


def test_combines_with_the_other_filters(org, book, plan):
    assert found(org.gm, "有限公司", customer_type="trading") == {XINGHE}
    assert found(org.gm, "星河", owner_id=org.sales_sh.pk) == {DONGFANG}
    assert found(org.gm, "星", department_id=org.beijing.pk) == {XINGHE}


def test_deleted_contacts_and_customers_do_not_match(org, book, plan):
    contact = book["xinghe"].contacts.get()
    services.contact_delete(actor=org.sales_bj, contact_id=contact.pk)
    assert found(org.gm, "欧阳") == set()
    assert found(org.gm, "5678") == set()
    assert found(org.gm, "星河建材") == {XINGHE}
    services.customer_delete(actor=org.keeper, customer_id=book["xinghe"].pk)
    assert found(org.gm, "星河建材") == set()
    services.customer_restore(actor=org.keeper, customer_id=book["xinghe"].pk)
    assert found(org.gm, "星河建材") == {XINGHE}
    assert found(org.gm, "欧阳") == set()


def test_index_follows_a_rename_and_contact_changes(org, book, plan):
    customer = book["gangwan"]
    services.customer_update(
        actor=org.sales_tj, customer_id=customer.pk, data={"name": "天津海湾物流有限公司"}
    )
    assert found(org.gm, "港湾") == set()
    assert found(org.gm, "海湾物流") == {"天津海湾物流有限公司"}
    assert found(org.gm, "流") == {"天津海湾物流有限公司"}
    contact = customer.contacts.get()
    services.contact_update(
        actor=org.sales_tj,
        contact_id=contact.pk,
        data={"name": "上官婉儿", "mobile": "13722223333"},
    )
    assert found(org.gm, "司徒") == set()
    assert found(org.gm, "1111") == set()
    assert found(org.gm, "上官") == {"天津海湾物流有限公司"}
    assert found(org.gm, "3333") == {"天津海湾物流有限公司"}
    services.contact_create(
        actor=org.sales_tj,
        customer_id=customer.pk,
        data={"name": "诸葛亮", "mobile": "13655556666"},
    )
    assert found(org.gm, "诸葛") == {"天津海湾物流有限公司"}
    assert found(org.gm, "5566") == {"天津海湾物流有限公司"}


def test_index_follows_writes_that_bypass_the_services(org, book, plan):
    """Triggers, not Python: bulk_create, queryset.update and a contact moved to another
    customer (as a merge does) all reach the index."""
    created = Customer.objects.bulk_create(
        [
            Customer(
                name="重庆山城火锅有限公司",
                department=org.beijing,
                owner=org.sales_bj,
                created_by=org.sales_bj,
            )
        ]
    )[0]
    if created.pk is None:  # pragma: no cover - both our databases return ids
        created = Customer.objects.get(name="重庆山城火锅有限公司")
    Contact.objects.bulk_create([Contact(customer=created, name="黄飞鸿", mobile="13511112222")])
    assert found(org.gm, "山城") == {"重庆山城火锅有限公司"}
    assert found(org.gm, "黄飞") == {"重庆山城火锅有限公司"}
    Customer.objects.filter(pk=created.pk).update(name="重庆雾都火锅有限公司")
    assert found(org.gm, "山城") == set()
    assert found(org.gm, "雾都") == {"重庆雾都火锅有限公司"}
    Contact.objects.filter(customer=created).update(customer=book["dongfang"])
    assert found(org.gm, "黄飞") == {DONGFANG}
    assert found(org.gm, "2222") == {DONGFANG}
    Contact.objects.filter(name="黄飞鸿").delete()
    assert found(org.gm, "黄飞") == set()


def index_rows():
    """The docs, and the names' grams: on SQLite the customers' tokens (migration 0016,
    whose FTS5 index must agree with them), on PostgreSQL the gram rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT source, customer_id, name, body FROM customers_search_doc ORDER BY source"
        )
        docs = cursor.fetchall()
    if connection.vendor == "sqlite":
        return docs, name_tokens()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gram, source, customer_id FROM customers_search_gram ORDER BY gram, source"
        )
        grams = cursor.fetchall()
    return docs, grams


def expected_rows():
    docs, grams = [], []
    sources = [
        (2 * c.pk, c.pk, c.name, f"{c.name}\n{c.credit_code}\n{c.phone}")
        for c in Customer.objects.all()
    ]
    sources += [
        (2 * k.pk + 1, k.customer_id, k.name, f"{k.name}\n{k.mobile}\n{k.phone}")
        for k in Contact.objects.filter(deleted_at__isnull=True)
    ]
    for source, customer_id, name, body in sorted(sources):
        docs.append((source, customer_id, name, body))
        padded = name + "\x1f"
        grams += {(padded[i : i + 2].lower(), source, customer_id) for i in range(len(name))}
    if connection.vendor == "sqlite":
        return docs, expected_name_tokens(docs)
    return docs, sorted(grams)


def name_tokens():
    """SQLite: customer id → its name tokens, sorted; checks the FTS5 index against them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_search_name_fts (customers_search_name_fts) "
            "VALUES ('integrity-check')"
        )
        cursor.execute("SELECT customer_id, tokens FROM customers_search_names ORDER BY 1")
        return [(pk, sorted(tokens.split(" "))) for pk, tokens in cursor.fetchall()]


def expected_name_tokens(docs):
    """The tokens rebuilt from the models (search.tokens): for every character of the
    customer's and its live contacts' names, its gram and the character, and both again
    behind the owner's and each co-owner's prefix."""
    customers = {c.pk: c for c in Customer.objects.prefetch_related("co_owners")}
    found: dict[int, list[str]] = {}
    for _source, customer_id, name, _body in docs:
        customer = customers[customer_id]
        prefixes = ["", *([f"o{customer.owner_id}"] if customer.owner_id else [])]
        prefixes += [f"c{u.pk}" for u in customer.co_owners.all()]
        padded = name + "\x1f"
        for i in range(len(name)):
            gram, char = padded[i : i + 2].lower(), name[i].lower()
            for prefix in prefixes:
                found.setdefault(customer_id, []).extend(
                    [
                        f"{prefix}b{gram.encode().hex().upper()}",
                        f"{prefix}u{char.encode().hex().upper()}",
                    ]
                )
    return [(pk, sorted(tokens)) for pk, tokens in sorted(found.items())]


def test_index_tables_equal_a_rebuild_after_every_kind_of_write(org, book):
    customer = book["xinghe"]
    services.customer_update(
        actor=org.sales_bj,
        customer_id=customer.pk,
        data={"name": "北京新星河建材有限公司", "phone": ""},
    )
    contact = customer.contacts.get()
    services.contact_update(
        actor=org.sales_bj, contact_id=contact.pk, data={"phone": "010-1234567"}
    )
    services.contact_create(
        actor=org.sales_bj, customer_id=customer.pk, data={"name": "Ada", "mobile": "13600001234"}
    )
    services.contact_delete(actor=org.sales_tj, contact_id=book["gangwan"].contacts.get().pk)
    services.customer_delete(actor=org.keeper, customer_id=book["dongfang"].pk)
    assert index_rows() == expected_rows()
    assert viewer_rows() == expected_viewer_rows()


def test_index_tables_equal_a_rebuild_after_many_rows_in_one_statement(org, book):
    """The import's path: customers and contacts sent in one statement each (COPY on
    PostgreSQL, where statement-level triggers index them together, migration 0013), a
    deleted contact among them, co-owners added afterwards."""
    from django.utils import timezone

    from guanxi.core.rows import bulk_insert

    customers = [
        Customer(
            name=f"成都{word}科技有限公司",
            phone="028-8888000" + str(index),
            department=org.beijing,
            owner=owner,
            created_by=org.sales_bj,
        )
        for index, (word, owner) in enumerate(
            [("蓉城", org.sales_bj), ("天府", org.sales_tj), ("锦江", org.sales_bj)]
        )
    ]
    bulk_insert(Customer, customers)
    contacts = [
        Contact(customer=customers[0], name="王小二", mobile="13900001111"),
        Contact(customer=customers[1], name="李小三", mobile="13900002222"),
        Contact(customer=customers[1], name="赵已删", deleted_at=timezone.now()),
    ]
    bulk_insert(Contact, contacts)
    assert index_rows() == expected_rows()
    assert viewer_rows() == expected_viewer_rows()
    customers[2].co_owners.add(org.sales_sh)
    assert viewer_rows() == expected_viewer_rows()
    assert found(org.sales_tj, "天府") == {"成都天府科技有限公司"}
    assert found(org.sales_bj, "天府") == set()


def test_index_tables_equal_a_rebuild_after_a_batch_indexed_together(org, book):
    """The import's batches (customers.batch): on SQLite the docs' own index triggers
    stand aside while the batch is inserted and search.bulk writes its FTS rows, grams,
    owners and viewer grams set-based (migration 0015); the index is what the row
    triggers would have made, and the pause is over afterwards."""
    from guanxi.customers.batch import NewCustomer, customer_create_many

    items = [
        NewCustomer(
            data={"name": name, "phone": phone, "owner": owner.pk},
            contacts=[{"name": contact, "mobile": mobile}],
        )
        for name, phone, owner, contact, mobile in [
            ("成都蓉城科技有限公司", "028-88880001", org.sales_bj, "王小二", "13900001111"),
            ("重庆天府物流有限公司", "", org.sales_bj, "李小三", "13900002222"),
            ("西安古城文化有限公司", "029-88880003", org.sales_bj, "Ada Lovelace", ""),
        ]
    ]
    outcomes = customer_create_many(actor=org.keeper, items=items)
    assert [o.error for o in outcomes] == [None, None, None]
    assert index_rows() == expected_rows()
    assert viewer_rows() == expected_viewer_rows()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM customers_search_paused")
            assert cursor.fetchone() == (0,)
    # The FTS rows: 3+ queries (names, phones, mobiles) and 1–2 (grams) find them.
    assert found(org.keeper, "蓉城科技") == {"成都蓉城科技有限公司"}
    assert found(org.keeper, "2222") == {"重庆天府物流有限公司"}
    assert found(org.keeper, "lovelace") == {"西安古城文化有限公司"}
    assert found(org.keeper, "古") == {"西安古城文化有限公司"}
    assert found(org.sales_bj, "天府") == {"重庆天府物流有限公司"}  # their viewer grams
    # After the batch, rows are indexed one by one again.
    services.customer_update(
        actor=org.keeper, customer_id=outcomes[0].customer.pk, data={"name": "成都锦江科技有限公司"}
    )
    assert index_rows() == expected_rows()
    assert viewer_rows() == expected_viewer_rows()
    assert found(org.keeper, "锦江") == {"成都锦江科技有限公司"}


def test_name_tokens_in_python_equal_the_sql_ones(org):
    """search.tokens.name_tokens (the import's batches) makes the string the SQL of
    migration 0016 makes (every single write): ASCII letters lower-cased and no others
    (SQLite's lower()), characters of one to four UTF-8 bytes, one-character names,
    co-owners, deleted contacts left out."""
    from django.utils import timezone

    from guanxi.customers.search.tokens import name_tokens

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps gram rows (migration 0006)")
    customer = make_customer(
        org.sales_bj,
        name="ＡＢ北京Ab-é😀科技",
        contacts=[{"name": "Ω李"}, {"name": "Z"}, {"name": "赵已删"}],
        co_owners=[org.sales_sh],
    )
    Contact.objects.filter(customer=customer, name="赵已删").update(deleted_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tokens FROM customers_search_names WHERE customer_id = %s", [customer.pk]
        )
        (sql_tokens,) = cursor.fetchone()
    python_tokens = name_tokens(
        ["ＡＢ北京Ab-é😀科技", "Ω李", "Z"], owner_id=org.sales_bj.pk, co_owner_ids=[org.sales_sh.pk]
    )
    assert sorted(python_tokens.split(" ")) == sorted(sql_tokens.split(" "))
    assert name_tokens(["", ""], owner_id=1) == ""


def test_the_pause_is_lifted_when_the_batch_fails(org):
    from django.db import transaction

    from guanxi.customers.search import bulk

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL indexes per statement (migration 0013)")
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), bulk.paused():
            1 / 0  # noqa: B018
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_search_paused")
            assert cursor.fetchone() == (0,)
    created = make_customer(org.sales_bj, name="兰州黄河机械有限公司")
    assert found(org.sales_bj, "黄河") == {created.name}
    # outside the pause the docs' own triggers index them: index_docs would index twice
    with pytest.raises(RuntimeError, match="paused"), transaction.atomic():
        bulk.index_docs(customer_ids=[created.pk])
    assert index_rows() == expected_rows()


def viewer_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT source, owner_id FROM customers_search_doc_owner ORDER BY source")
        owners = cursor.fetchall()
        if connection.vendor == "sqlite":  # the viewers' grams are tokens (index_rows)
            return owners, name_tokens(), []
        cursor.execute(
            "SELECT viewer, gram, source, customer_id FROM customers_search_viewer_gram "
            "ORDER BY viewer, gram, source"
        )
        grams = cursor.fetchall()
        docs = []
        if connection.vendor in index.VIEWER_DOC_VENDORS:
            cursor.execute(
                "SELECT source, viewer, customer_id, body FROM customers_search_viewer_doc "
                "ORDER BY source, viewer"
            )
            docs = cursor.fetchall()
    return owners, grams, docs


def expected_viewer_rows():
    """The viewer grams rebuilt from the models: each name gram once for the customer's
    owner and once (negated id) per co-owner; doc_owner: each doc's customer's owner;
    on PostgreSQL the viewer docs: each doc once for the owner and once per co-owner.
    On SQLite the customers' tokens (expected_name_tokens)."""
    customers = {c.pk: c for c in Customer.objects.prefetch_related("co_owners")}
    _docs, grams = expected_rows()
    owners = sorted({(source, customers[cid].owner_id) for source, cid, _n, _b in _docs})
    if connection.vendor == "sqlite":
        return owners, grams, []
    rows = set()
    for gram, source, customer_id in grams:
        customer = customers[customer_id]
        rows.add((customer.owner_id, gram, source, customer_id))
        rows |= {(-u.pk, gram, source, customer_id) for u in customer.co_owners.all()}
    docs = []
    if connection.vendor in index.VIEWER_DOC_VENDORS:
        for source, customer_id, _name, body in _docs:
            customer = customers[customer_id]
            viewers = [customer.owner_id, *(-u.pk for u in customer.co_owners.all())]
            docs += [(source, viewer, customer_id, body) for viewer in viewers]
    return owners, sorted(rows), sorted(docs)


def test_viewer_grams_follow_owners_and_co_owners(org, book):
    """Owner and co-owner changes through every write path keep the per-user grams equal
    to a rebuild: transfer, co-owners set and cleared, a rename and a transfer in one
    statement, a contact moved to another customer, raw updates and a hard delete."""
    xinghe, gangwan = book["xinghe"], book["gangwan"]
    assert viewer_rows() == expected_viewer_rows()
    services.customer_update(
        actor=org.gm,
        customer_id=xinghe.pk,
        data={"owner": org.sales_tj, "department": org.tianjin},
        co_owners=[org.sales_bj, org.sales_sh],
    )
    assert viewer_rows() == expected_viewer_rows()
    services.customer_update(actor=org.gm, customer_id=xinghe.pk, data={}, co_owners=[org.sales_sh])
    assert viewer_rows() == expected_viewer_rows()
    Customer.objects.filter(pk=gangwan.pk).update(name="天津海湾物流有限公司", owner=org.sales_sh)
    assert viewer_rows() == expected_viewer_rows()
    Customer.objects.filter(pk=gangwan.pk).update(owner=org.sales_bj)
    Customer.co_owners.through.objects.filter(customer_id=xinghe.pk).update(user_id=org.sales_tj.pk)
    assert viewer_rows() == expected_viewer_rows()
    Contact.objects.filter(customer=xinghe).update(customer=gangwan)
    services.contact_create(actor=org.gm, customer_id=xinghe.pk, data={"name": "诸葛亮"})
    assert viewer_rows() == expected_viewer_rows()
    gangwan.co_owners.add(org.sales_tj, org.sales_bj)  # the owner as co-owner too
    assert viewer_rows() == expected_viewer_rows()
    services.contact_delete(actor=org.gm, contact_id=gangwan.contacts.first().pk)
    services.customer_delete(actor=org.keeper, customer_id=book["dongfang"].pk)
    assert viewer_rows() == expected_viewer_rows()
    dongfang = book["dongfang"]
    dongfang.co_owners.add(org.sales_tj)
    Contact.objects.filter(customer=dongfang).delete()
    dongfang.co_owners.clear()
    Customer.objects.filter(pk=dongfang.pk).delete()
    assert viewer_rows() == expected_viewer_rows()


def test_own_scope_search_follows_transfers_and_co_owners(org, book, plan):
    """A salesperson's search reads their own index rows: what they are given or made
    co-owner of is found at once, what is taken away is not."""
    xinghe = book["xinghe"]
    assert found(org.sales_tj, "星河") == set()
    assert found(org.sales_tj, "欧阳娜娜") == set()
    services.customer_update(actor=org.gm, customer_id=xinghe.pk, data={}, co_owners=[org.sales_tj])
    assert found(org.sales_tj, "星河") == {XINGHE}
    assert found(org.sales_tj, "娜") == {XINGHE}
    assert found(org.sales_tj, "5678") == {XINGHE}
    services.customer_update(actor=org.gm, customer_id=xinghe.pk, data={}, co_owners=[])
    assert found(org.sales_tj, "星河") == set()
    assert found(org.sales_tj, "5678") == set()
    services.customer_update(
        actor=org.gm, customer_id=xinghe.pk, data={"owner": org.sales_tj, "department": org.tianjin}
    )
    assert found(org.sales_tj, "星河") == {XINGHE}
    assert found(org.sales_tj, "欧阳") == {XINGHE}
    assert found(org.sales_tj, "有限公司") == {XINGHE, GANGWAN}
    assert found(org.sales_bj, "星河") == set()
    assert found(org.sales_bj, "欧阳娜娜") == set()
    assert index.own_scope_user(org.sales_tj) == org.sales_tj.pk
    assert index.own_scope_user(org.gm) is None
    assert index.own_scope_user(org.supervisor_north) is None


def test_fts_and_gram_tables_answer_like_the_doc_table(org, book):
    """The vendor index (FTS5 / pg_trgm) and the gram table agree with LIKE on the docs."""
    for text in ("星河", "星", "有限公司", "5678", "司马光", "Ada"):
        query = index.parse(text, common=False)
        sql, params = index.hits_sql(query)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            hits = {row[0] for row in cursor.fetchall()}
        column = "name" if query.short else "body"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT customer_id FROM customers_search_doc WHERE {column} LIKE %s",
                [f"%{text}%"],
            )
            expected = {row[0] for row in cursor.fetchall()}
        assert hits == expected, text


def test_own_long_queries_read_the_viewer_docs(org, book):
    """On PostgreSQL a user's 3+ hits come from their own docs (owned and co-owned, deleted
    customers included like every index hit): the same as LIKE on the docs and the owners."""
    if connection.vendor not in index.VIEWER_DOC_VENDORS:
        pytest.skip("viewer docs: PostgreSQL only")
    book["gangwan"].co_owners.add(org.sales_bj)
    services.customer_delete(actor=org.keeper, customer_id=book["dongfang"].pk)
    customers = list(Customer.objects.prefetch_related("co_owners"))
    for text in ("有限公司", "5678", "欧阳娜娜", "022-", "星河建"):
        query = index.parse(text, common=False)
        for user in (org.sales_bj, org.sales_tj, org.sales_sh):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT customer_id FROM customers_search_doc WHERE body ILIKE %s",
                    [f"%{text}%"],
                )
                hits = {row[0] for row in cursor.fetchall()}
            theirs = {c.pk for c in customers if c.owner_id == user.pk or user in c.co_owners.all()}
            assert set(index.hit_ids(query, viewer=user.pk)) == hits & theirs, (text, user)


def test_the_plan_follows_the_number_of_hits(org, book, monkeypatch):
    monkeypatch.setattr(index, "COMMON_MATCHES", 2)
    assert index.parse("有限公司").common is True  # three customers
    assert index.parse("星河建材").common is False
    assert index.hit_ids(index.parse("有限公司", common=False), limit=2) is None
    assert index.parse("星河建材").ids == (book["xinghe"].pk,)
    assert index.parse("") is None
    assert index.parse("  \t ") is None


def test_common_queries_are_tested_by_membership_up_to_a_bound(org, book, monkeypatch):
    monkeypatch.setattr(index, "MEMBERS_VENDORS", frozenset({connection.vendor}))
    monkeypatch.setattr(index, "COMMON_MATCHES", 1)
    monkeypatch.setattr(index, "MEMBER_MATCHES", 3)
    query = index.parse("有限公司", actor=org.gm)  # three customers
    assert (query.common, query.members) == (True, True)
    assert index.hit_count(query, limit=10) == 3
    assert index.hit_count(query, limit=1) == 2  # read up to the bound only
    monkeypatch.setattr(index, "MEMBER_MATCHES", 2)
    index.clear_plan_cache()
    query = index.parse("有限公司", actor=org.gm)
    assert (query.common, query.members) == (True, False)
    # a salesperson's short query counts their own hits only
    monkeypatch.setattr(index, "COMMON_MATCHES", 0)
    index.clear_plan_cache()
    query = index.parse("公司", actor=org.sales_bj)
    assert (query.common, query.members, query.viewer) == (True, True, org.sales_bj.pk)
    assert index.hit_count(query, limit=10, viewer=org.sales_bj.pk) == 1
    # the choice is cached with the plan
    assert index.parse("公司", actor=org.sales_bj) == query
    monkeypatch.setattr(index, "MEMBERS_VENDORS", frozenset())
    index.clear_plan_cache()
    assert index.parse("公司", actor=org.sales_bj).members is False  # not on this database


def test_membership_by_ids_on_postgresql(org, book, monkeypatch):
    """PostgreSQL: a query with more hits than MEMBER_SELECTIVE (up to the bounds) passes
    its hits' ids back, tested on each entry of the list's covering index in its order;
    3+ queries too, a salesperson's from their own docs. No total (a common plan); the ids
    are read again on the next page view, never taken from the plan cache."""
    if connection.vendor not in index.MEMBER_IDS_VENDORS:
        pytest.skip("membership by ids: PostgreSQL only")
    monkeypatch.setattr(index, "MEMBER_SELECTIVE", 0)
    monkeypatch.setattr(index, "SMALL_SHARE", -1.0)
    everyone = {c.pk for c in book.values()}
    for text in ("有限公司", "有限", "星"):
        query = index.parse(text, actor=org.gm)
        assert (query.common, query.members) == (True, True), text
        assert index.is_common(text, actor=org.gm)
    assert set(index.parse("有限", actor=org.gm).ids) == everyone
    assert found(org.gm, "有限公司") == {XINGHE, GANGWAN, DONGFANG}
    own = index.parse("有限公司", actor=org.sales_bj)
    assert (own.members, own.ids, own.viewer) == (True, (book["xinghe"].pk,), org.sales_bj.pk)
    assert found(org.sales_bj, "有限公司") == {XINGHE}
    assert found(org.sales_bj, "有限") == {XINGHE}
    # read again, not cached: a customer added since is found
    added = make_customer(org.sales_bj, name="北京有限责任测试公司")
    assert set(index.parse("有限", actor=org.gm).ids) == everyone | {added.pk}
    assert found(org.sales_bj, "有限公司") == {XINGHE}
    assert found(org.sales_bj, "有限") == {XINGHE, "北京有限责任测试公司"}
    # every sort, the same rows: the walk in the list's default order (either way), a
    # probe per id in the others, LIKE there above COMMON_MATCHES ids
    with_added = {XINGHE, GANGWAN, DONGFANG, "北京有限责任测试公司"}
    for common_matches in (10**9, 1):
        monkeypatch.setattr(index, "COMMON_MATCHES", common_matches)
        for sort in selectors.SORTS:
            with CaptureQueriesContext(connection) as captured:
                assert found(org.gm, "有限", sort=sort) == with_added, (sort, common_matches)
            walked = any(") IS TRUE" in q["sql"] for q in captured.captured_queries)
            assert walked == (sort in ("updated", "-updated")), sort
    monkeypatch.setattr(index, "COMMON_MATCHES", 5000)
    # above the bound: LIKE
    monkeypatch.setattr(index, "MEMBER_MATCHES", 2)
    index.clear_plan_cache()
    assert (index.parse("有限", actor=org.gm).members, index.parse("有限", actor=org.gm).ids) == (
        False,
        (),
    )
    # up to MEMBER_SELECTIVE: probes, with a total
    monkeypatch.setattr(index, "MEMBER_SELECTIVE", 10)
    index.clear_plan_cache()
    query = index.parse("有限", actor=org.gm)
    assert (query.common, set(query.ids)) == (False, everyone | {added.pk})


def test_a_common_long_query_is_estimated_on_a_sample_first(org, book, monkeypatch):
    """PostgreSQL: a 3+ query's hits are estimated on a sample of the docs; above the bound
    the LIKE plan is chosen without reading them (a salesperson's estimate: their share)."""
    if connection.vendor not in index.MEMBER_IDS_VENDORS:
        pytest.skip("membership by ids: PostgreSQL only")
    monkeypatch.setattr(index, "SAMPLE_PERCENT", 100.0)  # every page: the exact count
    monkeypatch.setattr(index, "SMALL_SHARE", -1.0)
    query = index.parse("有限公司", common=False)
    assert index.sampled_hits(query) == 3
    assert index.sampled_hits(index.parse("星河建材", common=False)) == 1
    monkeypatch.setattr(index, "MEMBER_SELECTIVE", 0)
    monkeypatch.setattr(index, "MEMBER_LONG_MATCHES", 2)
    read = []
    monkeypatch.setattr(index, "hit_ids", lambda *a, **k: read.append(a) or ())
    query = index.parse("有限公司", actor=org.gm)
    assert (query.common, query.members, read) == (True, False, [])
    assert found(org.gm, "有限公司") == {XINGHE, GANGWAN, DONGFANG}
    index.clear_plan_cache()
    index.parse("星河建材", actor=org.gm)
    assert len(read) == 1  # below the bound: the hits are read


def test_caseless_queries_are_matched_case_sensitively(org, book):
    """Chinese, digits and punctuation have no case: LIKE finds what ILIKE finds (cheaper
    on PostgreSQL); a query with a letter keeps ILIKE."""
    for text in ("星河建", "5678", "022-", "欧阳娜娜"):
        assert index._like(index.parse(text, common=False)) == "LIKE", text
    for text in ("Ada", "ada", "91110108ma", "星河a"):
        assert index._like(index.parse(text, common=False)) == "ILIKE", text
    assert found(org.gm, "ada") == set()  # no such customer, nor contact
    services.contact_create(
        actor=org.gm, customer_id=book["gangwan"].pk, data={"name": "ADA", "mobile": ""}
    )
    assert found(org.gm, "ada") == {GANGWAN}


def test_own_long_queries_are_counted_first_then_read_with_their_owner(org, book, monkeypatch):
    monkeypatch.setattr(index, "MEMBERS_VENDORS", frozenset({connection.vendor}))
    monkeypatch.setattr(index, "SMALL_SHARE", -1.0)
    assert index.parse("欧阳娜娜", actor=org.sales_bj).ids == (book["xinghe"].pk,)
    assert index.parse("欧阳娜娜", actor=org.sales_tj).ids == ()  # a hit, not theirs
    assert index.parse("5678", actor=org.sales_bj).ids == (book["xinghe"].pk,)
    monkeypatch.setattr(index, "COMMON_MATCHES", 0)
    index.clear_plan_cache()
    query = index.parse("有限公司", actor=org.sales_bj)
    assert (query.common, query.members) == (True, True)
    assert found(org.sales_bj, "有限公司") == {XINGHE}


def test_a_small_scope_is_read_from_its_ids(org, book, monkeypatch):
    monkeypatch.setattr(index, "SMALL_SHARE", 2.0)
    supervisor = org.supervisor_north  # north and below: Beijing and Tianjin
    ids = index.small_scope_ids(supervisor)
    assert set(ids) == {book["xinghe"].pk, book["gangwan"].pk}
    assert index.small_scope_ids(org.gm) is None  # everything: never by ids
    monkeypatch.setattr(index, "SMALL_SCOPE", 1)
    assert index.small_scope_ids(supervisor) is None  # more than SMALL_SCOPE
    monkeypatch.setattr(index, "SMALL_SCOPE", 3000)
    monkeypatch.setattr(index, "SMALL_SHARE", 0.0)
    assert index.small_scope_ids(supervisor) is None  # a large share of the archive
