"""Candidate finding at filing time and the archive-wide scan (blocking, scope, dismissals)."""

import pytest
from django.db import connection

from guanxi.core.errors import DuplicateCreditCode, PossibleDuplicate
from guanxi.core.testing import REAL_CREDIT_CODES, valid_credit_code
from guanxi.customers import services
from guanxi.customers.dedup import matching
from guanxi.customers.dedup.matching import (
    SAME_KEY,
    SAME_PHONE,
    SIMILAR_NAME,
    block_range,
    duplicate_scan,
    find_candidates,
)
from guanxi.customers.dedup.models import DuplicateDismissal
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Customer

HUAWEI = REAL_CREDIT_CODES["华为技术有限公司"]
TENCENT = REAL_CREDIT_CODES["腾讯科技（深圳）有限公司"]


def pairs_by_name(pairs):
    names = dict(Customer.objects.values_list("pk", "name"))
    return {frozenset((names[p.low_id], names[p.high_id])): p for p in pairs}


# --- the candidate finder --------------------------------------------------------------------
def test_block_range_is_an_index_range():
    assert block_range("华建") == {"name_normalised__gte": "华建", "name_normalised__lt": "华廻"}


def test_exact_and_similar_keys_are_candidates_best_first(org):
    exact = add(org.sales_bj, "北京华建建材有限公司")
    similar = add(org.sales_sh, "华建建材厂")
    add(org.sales_bj, "北京华建物流有限公司")  # brand word only
    add(org.sales_bj, "华建东建材有限公司")  # another trade name
    found = find_candidates(normalise_name("华建建材（北京）有限公司"))
    assert [(c.id, c.name, c.score, c.same_key) for c in found] == [
        (exact.pk, "北京华建建材有限公司", 100, True),
        (similar.pk, "华建建材厂", 94, False),
    ]


def test_a_differing_credit_code_settles_it(org):
    add(org.sales_bj, "北京华建建材有限公司", credit_code=HUAWEI)
    key = normalise_name("华建建材有限公司")
    assert find_candidates(key, credit_code=TENCENT) == []
    assert len(find_candidates(key)) == 1  # no code on the new one: still a candidate
    add(org.sales_bj, "上海华建建材有限公司")  # no code on the old one
    assert len(find_candidates(key, credit_code=TENCENT)) == 1


def test_deleted_customers_are_not_candidates(org):
    old = add(org.sales_bj, "北京华建建材有限公司")
    services.customer_delete(actor=org.director, customer_id=old.pk)
    assert find_candidates("华建建材") == []


def test_a_large_block_is_narrowed_and_still_finds_the_match(org, monkeypatch):
    monkeypatch.setattr(matching, "MAX_BLOCK", 3)
    for word in ("物流", "置业", "科技", "钢构", "机电"):
        add(org.sales_bj, f"华建{word}有限公司")
    target = add(org.sales_bj, "华建建材有限公司")
    found = find_candidates("华建建材厂")
    assert [c.id for c in found] == [target.pk]


def test_one_check_reads_a_few_queries(org, django_assert_max_num_queries):
    for index in range(20):
        add(org.sales_bj, f"华建{'东西南北中前后左右上下内外甲乙丙丁戊己庚'[index]}建材有限公司")
    with django_assert_max_num_queries(2):
        find_candidates("华建建材")


@pytest.mark.parametrize("max_block", [1000, 3])
def test_candidates_for_many_names_at_once_match_one_by_one(
    org, monkeypatch, max_block, django_assert_max_num_queries
):
    monkeypatch.setattr(matching, "MAX_BLOCK", max_block)
    for name in (
        "北京华建建材有限公司",
        "华建建材厂",
        "华建物流",
        "华建置业",
        "星河建材",
        "上海星河建材厂",
    ):
        add(org.sales_bj, name, credit_code=HUAWEI if name == "华建物流" else "")
    items = [
        ("华建建材", ""),
        ("华建建材", TENCENT),
        ("华建物流", TENCENT),
        ("星河建材", ""),
        ("鼎盛机电", ""),
        ("", ""),
    ]
    expected = [find_candidates(key, credit_code=code) for key, code in items]
    with django_assert_max_num_queries(3 if max_block == 1000 else 20):
        assert matching.find_candidates_many(items) == expected
    assert [len(found) for found in expected] == [2, 2, 0, 2, 0, 0]


@pytest.mark.parametrize("max_block", [1000, 3])
def test_a_block_cache_gives_what_reading_the_archive_gives(
    org, monkeypatch, max_block, django_assert_num_queries
):
    """An import's chunks share one BlockCache: a block read for one chunk is not read
    again, customers filed meanwhile join the cached blocks they belong to, and a block
    grown past MAX_BLOCK is read (and narrowed) again — the same candidates each time as
    without the cache."""
    monkeypatch.setattr(matching, "MAX_BLOCK", max_block)
    for name in ("北京华建建材有限公司", "华建物流", "星河建材"):
        add(org.sales_bj, name)
    cache = matching.BlockCache(track_writes=True)
    items = [("华建建材", ""), ("星河建材", ""), ("华建置业", ""), ("华", "")]
    first = matching.find_candidates_many(items, blocks=cache)
    assert first == matching.find_candidates_many(items)
    assert [len(found) for found in first] == [1, 1, 0, 0]
    if max_block == 1000:
        with django_assert_num_queries(1):  # the candidates' own details only
            assert matching.find_candidates_many(items, blocks=cache) == first
    # Filed since: in its block of the cache, as in the archive.
    for name in ("华建置业有限公司", "华建东建材", "华建西建材", "华有限公司"):
        filed = add(org.sales_bj, name)
        cache.add(filed.pk, filed.name_normalised)
    again = matching.find_candidates_many(items, blocks=cache)
    assert again == matching.find_candidates_many(items)
    assert [len(found) for found in again] == [1, 1, 1, 1]
    # Without track_writes (a check pass whose chunks are rolled back) add does nothing.
    frozen = matching.BlockCache(track_writes=False)
    matching.find_candidates_many(items, blocks=frozen)
    frozen.add(10**9, "华建置业")
    assert frozen.get("华建") is None or all(pk != 10**9 for pk, _key in frozen.get("华建"))


# --- filing: possible_duplicate --------------------------------------------------------------
def test_filing_a_possible_duplicate_is_refused_with_the_candidates(org):
    other_scope = add(org.sales_sh, "上海华建建材有限公司", phone="021-55556666")
    with pytest.raises(PossibleDuplicate) as info:
        services.customer_create(actor=org.sales_bj, data={"name": "华建建材（北京）有限公司"})
    assert info.value.code == "possible_duplicate"
    assert info.value.http_status == 409
    # Outside the salesperson's scope, yet listed: id, name and score only.
    assert info.value.detail == {
        "candidates": [{"id": other_scope.pk, "name": "上海华建建材有限公司", "score": 100}]
    }
    assert Customer.objects.count() == 1


def test_confirming_files_it_anyway(org):
    add(org.sales_sh, "上海华建建材有限公司")
    customer = services.customer_create(
        actor=org.sales_bj, data={"name": "华建建材（北京）有限公司"}, confirm_duplicate=True
    )
    assert customer.name_normalised == "华建建材"
    assert Customer.objects.filter(name_normalised="华建建材").count() == 2


def test_different_credit_codes_file_without_a_warning(org):
    add(org.sales_sh, "上海华建建材有限公司", credit_code=HUAWEI)
    customer = services.customer_create(
        actor=org.sales_bj, data={"name": "北京华建建材有限公司", "credit_code": TENCENT}
    )
    assert customer.pk


def test_the_same_credit_code_is_still_refused_outright(org):
    add(org.sales_sh, "上海华建建材有限公司", credit_code=HUAWEI)
    with pytest.raises(DuplicateCreditCode):
        services.customer_create(
            actor=org.sales_bj,
            data={"name": "完全不同的名字", "credit_code": HUAWEI},
            confirm_duplicate=True,
        )


def test_brand_word_collisions_file_without_a_warning(org):
    add(org.sales_bj, "北京华建建材有限公司")
    services.customer_create(actor=org.sales_bj, data={"name": "北京华建物流有限公司"})
    services.customer_create(actor=org.sales_bj, data={"name": "华建东建材有限公司"})
    assert Customer.objects.count() == 3


def test_validation_errors_come_before_the_duplicate_warning(org):
    from guanxi.core.errors import ValidationFailed

    add(org.sales_bj, "北京华建建材有限公司")
    with pytest.raises(ValidationFailed):
        services.customer_create(actor=org.sales_bj, data={"name": "华建建材", "postcode": "abc"})


# --- the archive-wide scan ---------------------------------------------------------------------
@pytest.fixture
def planted(org):
    """Near-duplicates planted across departments, plus distinct companies sharing a word."""

    class Planted:
        bj_a = add(org.sales_bj, "北京华建建材有限公司", phone="010-66668888")
        bj_b = add(org.sales_bj, "华建建材（北京）有限公司")
        tj_a = add(org.sales_tj, "天津宏达物流有限公司")
        tj_b = add(org.sales_tj, "宏达物流(天津)有限责任公司")
        sh_a = add(org.sales_sh, "ＸＹＺ建设集团有限公司")
        sh_b = add(org.sales_sh, "XYZ建设有限公司")
        tw_a = add(org.sales_sh, "廣州華潤置地有限公司")
        tw_b = add(org.sales_sh, "华润置地（广州）有限公司")
        fuzzy_a = add(org.sales_bj, "上海星河建材有限公司")
        fuzzy_b = add(org.sales_bj, "星河建材厂")
        brand = add(org.sales_bj, "北京华建物流有限公司", phone="010-12345678")
        other_trade_name = add(org.sales_bj, "华建东建材有限公司")
        phone_a = add(org.sales_tj, "天津鼎盛机电有限公司", phone="022-8888 6666")
        phone_b = add(org.sales_tj, "鼎盛电机有限公司", phone="(022)88886666")
        numbered_a = add(org.sales_tj, "宏达第一工程有限公司")
        numbered_b = add(org.sales_tj, "宏达第二工程有限公司")

    return Planted


def test_scan_finds_the_planted_pairs_and_nothing_else(planted):
    found = pairs_by_name(duplicate_scan())
    assert {pair: (p.score, p.reasons) for pair, p in found.items()} == {
        frozenset({"北京华建建材有限公司", "华建建材（北京）有限公司"}): (100.0, (SAME_KEY,)),
        frozenset({"天津宏达物流有限公司", "宏达物流(天津)有限责任公司"}): (100.0, (SAME_KEY,)),
        frozenset({"ＸＹＺ建设集团有限公司", "XYZ建设有限公司"}): (100.0, (SAME_KEY,)),
        frozenset({"廣州華潤置地有限公司", "华润置地（广州）有限公司"}): (100.0, (SAME_KEY,)),
        frozenset({"上海星河建材有限公司", "星河建材厂"}): (94.4, (SIMILAR_NAME,)),
        # a one-character difference in the trade name, corroborated by the same phone
        frozenset({"天津鼎盛机电有限公司", "鼎盛电机有限公司"}): (75.0, (SAME_PHONE,)),
    }


def test_scan_threshold_and_same_key_only(planted):
    assert len(list(duplicate_scan(threshold=100))) == 4
    lenient = pairs_by_name(duplicate_scan(threshold=80))
    assert frozenset({"华建建材（北京）有限公司", "华建东建材有限公司"}) in lenient
    assert frozenset({"北京华建建材有限公司", "北京华建物流有限公司"}) not in lenient


@pytest.mark.parametrize(
    "user, expected",
    [
        ("sales_bj", 2),  # 北京: the same-key pair and the fuzzy pair
        ("sales_tj", 2),  # 天津: the same-key pair and the same-phone pair
        ("supervisor_north", 4),  # 华北 and below
        ("sales_sh", 2),
        ("service", 6),  # read-only, but sees everything
    ],
)
def test_scan_respects_scope(org, planted, user, expected):
    actor = getattr(org, user)
    found = pairs_by_name(duplicate_scan(actor=actor))
    visible = set(Customer.objects.visible_to(actor).values_list("name", flat=True))
    assert len(found) == expected
    assert all(pair <= visible for pair in found)


def test_scan_leaves_out_a_pair_across_scopes(org):
    add(org.sales_bj, "北京华建建材有限公司")
    add(org.sales_sh, "上海华建建材有限公司")
    assert list(duplicate_scan(actor=org.sales_bj)) == []
    assert len(list(duplicate_scan(actor=org.gm))) == 1


def test_dismissed_pairs_are_no_longer_listed(org, planted):
    low, high = sorted((planted.bj_a.pk, planted.bj_b.pk))
    DuplicateDismissal.objects.create(customer_low_id=low, customer_high_id=high, actor=org.gm)
    found = pairs_by_name(duplicate_scan())
    assert frozenset({"北京华建建材有限公司", "华建建材（北京）有限公司"}) not in found
    assert len(found) == 5


def test_deleted_and_merged_customers_are_not_scanned(org, planted):
    services.customer_delete(actor=org.director, customer_id=planted.tj_b.pk)
    assert frozenset({"天津宏达物流有限公司", "宏达物流(天津)有限责任公司"}) not in pairs_by_name(
        duplicate_scan()
    )


def test_a_split_block_still_pairs_equal_keys(org, monkeypatch):
    monkeypatch.setattr(matching, "MAX_BLOCK", 2)
    for name in ("华建物流", "华建置业", "华建建材有限公司", "北京华建建材", "华建东建材"):
        add(org.sales_bj, name)
    found = pairs_by_name(duplicate_scan())
    assert set(found) == {frozenset({"华建建材有限公司", "北京华建建材"})}
    assert next(iter(found.values())).block == "华建"


def test_scan_blocks_resume_from_a_block(org, planted):
    blocks = list(matching.scan_blocks())
    prefixes = [block.prefix for block in blocks]
    assert prefixes == sorted(prefixes)
    resumed = list(matching.scan_blocks(start=prefixes[2]))
    assert [block.prefix for block in resumed] == prefixes[2:]
    assert sum(block.size for block in blocks) == Customer.objects.count()


def test_credit_codes_do_not_hide_pairs_from_the_review(org):
    """The review shows same-name pairs even with different codes: a person decides."""
    add(org.sales_bj, "北京华建建材有限公司", credit_code=valid_credit_code(11))
    add(org.sales_bj, "华建建材有限公司", credit_code=valid_credit_code(12))
    assert len(list(duplicate_scan())) == 1


def test_bench_dedup_scan_reports_in_the_results_format(planted):
    from guanxi.customers.dedup.bench import bench_dedup_scan

    result = bench_dedup_scan(db_label="sqlite")
    assert set(result) == {"metric", "value", "unit", "db", "target"}
    assert (result["metric"], result["unit"], result["db"], result["target"]) == (
        "dedup_scan_1m_s",
        "s",
        "sqlite",
        120,
    )
    assert result["value"] >= 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="migration 0012 is PostgreSQL's")
def test_name_blocks_are_read_from_an_index_alone(org):
    # At a million customers, visiting each block entry's row cost 5 s per 10,000 imported
    # rows; the (name_normalised, id) index answers the block read by itself.
    add(org.admin, "北京星河科技有限公司")
    add(org.admin, "上海星河传媒有限公司")
    seen = []

    def keep(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    prefix = normalise_name("北京星河科技")[: matching.BLOCK_PREFIX]
    with connection.execute_wrapper(keep):
        found = matching._read_blocks([prefix])
    assert len(found[0]) == 2
    sql, params = seen[-1]
    with connection.cursor() as cursor:
        # a two-row table: take sorting and scans of the table off the planner's menu, so
        # that what is left is the read the query is written for
        for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using customers_customer_dedup_block" in plan
