import pytest

from guanxi.customers.dedup.normalise import normalise_name, similarity


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "北京华建建材有限公司",
            "华建建材（北京）有限公司",
            "华建建材(北京)有限公司",
            "北京市华建建材股份有限公司",
        ],
        ["ＡＢＣ建设集团有限公司", "abc建设集团", "ABC 建设"],
        ["廣州華潤置地有限公司", "华润置地（广州）有限公司", "广州市华润置地"],
        ["深圳市腾讯计算机系统有限公司", "腾讯计算机系统有限责任公司"],
    ],
)
def test_spellings_of_one_company_share_a_key(spellings):
    keys = {normalise_name(name) for name in spellings}
    assert len(keys) == 1, keys


def test_distinct_companies_sharing_a_brand_word_keep_distinct_keys():
    a, b = normalise_name("北京华建建材有限公司"), normalise_name("北京华建物流有限公司")
    assert a != b
    assert similarity(a, b) < 80


def test_a_bare_place_name_is_kept():
    assert normalise_name("北京") == "北京"
    assert normalise_name("上海大众汽车有限公司") == "大众汽车"
    assert normalise_name("") == ""


# --- planted near-duplicates and brand-word collisions (issue 3 acceptance) -------------------
@pytest.mark.parametrize(
    "a, b",
    [
        ("华建建材（北京）有限公司", "华建建材(北京)有限公司"),  # full- and half-width brackets
        ("北京华建建材有限公司", "北京华建建材"),  # with and without 有限公司
        ("ＸＹＺ建材有限公司", "XYZ建材有限公司"),  # full-width letters
        ("廣州華潤置地有限公司", "广州华润置地有限公司"),  # traditional characters
        ("天津宏达物流有限责任公司", "宏达物流（天津）股份有限公司"),
        ("华建建材有限公司北京分公司", "华建建材有限公司"),  # a branch keeps its parent's key
        ("华建建材股份有限公司天津办事处", "北京华建建材集团"),
    ],
)
def test_planted_near_duplicates_share_a_key(a, b):
    assert normalise_name(a) == normalise_name(b)
    assert similarity(normalise_name(a), normalise_name(b)) == 100


@pytest.mark.parametrize(
    "a, b, score",
    [
        ("北京华建建材有限公司", "北京华建物流有限公司", 50.0),  # one brand word, two businesses
        ("华建建筑工程有限公司", "华建东建筑工程有限公司", 83.7),  # two trade names
        ("华建建材有限公司", "华达建材有限公司", 75.0),
        ("测试客户5有限公司", "测试客户6有限公司", 70.0),  # numbers tell them apart
        ("中建一局集团有限公司", "中建二局集团有限公司", 70.0),
    ],
)
def test_distinct_companies_stay_below_the_thresholds(a, b, score):
    from guanxi.customers.dedup.matching import REVIEW_SCORE, WARN_SCORE

    value = similarity(normalise_name(a), normalise_name(b))
    assert round(value, 1) == score
    assert value < REVIEW_SCORE < WARN_SCORE


@pytest.mark.parametrize(
    "a, b, score",
    [
        ("华建建材有限公司", "华建建材厂", 94.4),  # a word added at the end
        ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统科技有限公司", 93.8),
        ("星河建材有限公司", "星河建材贸易有限公司", 90.0),
    ],
)
def test_near_spellings_score_high(a, b, score):
    assert round(similarity(normalise_name(a), normalise_name(b)), 1) == score


def test_similarity_of_empty_keys_is_zero():
    assert similarity("", "华建") == 0.0
    assert similarity("华建", "华建") == 100.0
