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
