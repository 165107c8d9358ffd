"""Normalising Chinese company names for duplicate detection (MISSION §1).

Two spellings of one company should normalise to the same key; two different companies
sharing a brand word should not. The steps, in order:

1. Traditional → Simplified characters (OpenCC `t2s`): 廣州華潤 → 广州华润.
2. Unicode NFKC: full-width letters, digits and brackets become half-width
   (ＡＢＣ１２３（） → ABC123()); then lower case for Latin letters.
3. Bracketed parts are removed with their content, whatever the bracket style:
   （北京）, (北京), 【…】, [...], 〔…〕 — they carry a region or a note, not the name.
4. Spaces, punctuation and symbols are removed (·, -, ., &, 、, quotes …).
5. A branch of a company (分公司, 办事处, 分厂, 分店, 营业部 after the parent's legal form,
   e.g. 华建建材有限公司北京分公司) is cut back to the parent's name: 华建建材有限公司.
6. Legal-form and organisation suffixes are stripped from the end, repeatedly:
   股份有限公司, 有限责任公司, 有限公司, 集团公司, 集团, 分公司, 总公司, 公司, 股份,
   ltd, co, inc, corp … (longest first).
7. Province / city prefixes are stripped from the start, repeatedly: full names
   (北京市, 广东省, 内蒙古自治区, 广西壮族自治区 …) and their short forms (北京, 广东,
   内蒙古 …), plus prefecture-level city names with or without 市 (深圳, 苏州市 …).
   A prefix is only removed if at least two characters of name remain, so 北京 alone or
   上海大众 keep a usable key.

The result is the blocking and comparison key. `similarity` compares two keys with
rapidfuzz: the mean of the Indel ratio of the whole keys and of their first four
characters. The first characters carry the trade name (字号), so a difference there weighs
double: 华建建筑工程 / 华建东建筑工程 (two trade names) score 84, while
华建建材 / 华建建材厂 (one company, a word added at the end) score 94 and
华建建材 / 华建物流 (one brand word, two businesses) score 50. Numbers tell companies
apart: when both keys contain numbers (digits or 〇一二三…十百千) and these differ
(测试客户5 / 测试客户6, 中建一局 / 中建二局), the score is capped at NUMBER_CAP (70). The key is stored on each customer (Customer.name_normalised) so lookups and
blocking run in the database.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc
from rapidfuzz import fuzz

_T2S = opencc.OpenCC("t2s")

_BRACKETS = re.compile(r"[(\[【〔{（][^)\]】〕}）]*[)\]】〕}）]")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_BRANCH = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司).{0,10}?"
    r"(分公司|办事处|分厂|分店|营业部)$"
)

LEGAL_SUFFIXES = sorted(
    [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "集团有限公司",
        "集团股份有限公司",
        "集团公司",
        "集团",
        "分公司",
        "总公司",
        "公司",
        "股份",
        "有限",
        "limited",
        "ltd",
        "co",
        "inc",
        "corp",
        "corporation",
        "company",
        "group",
    ],
    key=len,
    reverse=True,
)

PROVINCES = [
    ("北京市", "北京"),
    ("天津市", "天津"),
    ("上海市", "上海"),
    ("重庆市", "重庆"),
    ("河北省", "河北"),
    ("山西省", "山西"),
    ("辽宁省", "辽宁"),
    ("吉林省", "吉林"),
    ("黑龙江省", "黑龙江"),
    ("江苏省", "江苏"),
    ("浙江省", "浙江"),
    ("安徽省", "安徽"),
    ("福建省", "福建"),
    ("江西省", "江西"),
    ("山东省", "山东"),
    ("河南省", "河南"),
    ("湖北省", "湖北"),
    ("湖南省", "湖南"),
    ("广东省", "广东"),
    ("海南省", "海南"),
    ("四川省", "四川"),
    ("贵州省", "贵州"),
    ("云南省", "云南"),
    ("陕西省", "陕西"),
    ("甘肃省", "甘肃"),
    ("青海省", "青海"),
    ("台湾省", "台湾"),
    ("内蒙古自治区", "内蒙古"),
    ("广西壮族自治区", "广西"),
    ("西藏自治区", "西藏"),
    ("宁夏回族自治区", "宁夏"),
    ("新疆维吾尔自治区", "新疆"),
    ("香港特别行政区", "香港"),
    ("澳门特别行政区", "澳门"),
]
CITIES = [
    "石家庄",
    "唐山",
    "保定",
    "廊坊",
    "邯郸",
    "太原",
    "大同",
    "沈阳",
    "大连",
    "鞍山",
    "长春",
    "吉林",
    "哈尔滨",
    "大庆",
    "南京",
    "苏州",
    "无锡",
    "常州",
    "南通",
    "徐州",
    "扬州",
    "镇江",
    "杭州",
    "宁波",
    "温州",
    "嘉兴",
    "绍兴",
    "金华",
    "台州",
    "湖州",
    "合肥",
    "芜湖",
    "福州",
    "厦门",
    "泉州",
    "南昌",
    "赣州",
    "济南",
    "青岛",
    "烟台",
    "潍坊",
    "临沂",
    "淄博",
    "郑州",
    "洛阳",
    "武汉",
    "宜昌",
    "襄阳",
    "长沙",
    "株洲",
    "湘潭",
    "广州",
    "深圳",
    "珠海",
    "佛山",
    "东莞",
    "中山",
    "惠州",
    "汕头",
    "江门",
    "湛江",
    "海口",
    "三亚",
    "南宁",
    "柳州",
    "桂林",
    "成都",
    "绵阳",
    "贵阳",
    "遵义",
    "昆明",
    "西安",
    "咸阳",
    "兰州",
    "西宁",
    "银川",
    "乌鲁木齐",
    "呼和浩特",
    "包头",
    "拉萨",
]
PREFIXES = sorted(
    {full for full, _ in PROVINCES}
    | {short for _, short in PROVINCES}
    | {f"{city}市" for city in CITIES}
    | set(CITIES),
    key=len,
    reverse=True,
)
_MIN_REMAINING = 2


# The suffixes by last character and the prefixes by first character, each list in the
# order of its whole list (longest first): only those can match, and the first that
# matches is the one the whole list's order would pick.
_SUFFIXES_BY_LAST = {
    last: [suffix for suffix in LEGAL_SUFFIXES if suffix[-1] == last]
    for last in {suffix[-1] for suffix in LEGAL_SUFFIXES}
}
_PREFIXES_BY_FIRST = {
    first: [prefix for prefix in PREFIXES if prefix[0] == first]
    for first in {prefix[0] for prefix in PREFIXES}
}


def _strip_suffixes(text: str) -> str:
    while text:
        for suffix in _SUFFIXES_BY_LAST.get(text[-1], ()):
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
        else:
            return text
    return text


def _strip_prefixes(text: str) -> str:
    while text:
        for prefix in _PREFIXES_BY_FIRST.get(text[0], ()):
            if text.startswith(prefix) and len(text) - len(prefix) >= _MIN_REMAINING:
                text = text[len(prefix) :]
                break
        else:
            return text
    return text


@functools.lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """The comparison key of a company name (see the module docstring for the rules)."""
    if not name:
        return ""
    text = _T2S.convert(name)
    text = unicodedata.normalize("NFKC", text).lower()
    text = _BRACKETS.sub("", text)
    text = _NOISE.sub("", text)
    branch = _BRANCH.search(text)
    if branch is not None and branch.start() >= _MIN_REMAINING:
        text = text[: branch.end(1)]
    text = _strip_suffixes(text)
    text = _strip_prefixes(text)
    text = _strip_suffixes(text)
    return text


HEAD = 4
NUMBER_CAP = 70.0
_NUMBERS = re.compile(r"[0-9〇一二三四五六七八九十百千]+")


def similarity(a: str, b: str) -> float:
    """0–100 similarity of two normalised keys: the mean of the rapidfuzz ratio of the whole
    keys and of their first HEAD characters (see the module docstring)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    return weigh_head(float(fuzz.ratio(a, b)), a, b)


def weigh_head(whole: float, a: str, b: str) -> float:
    """`similarity` given the ratio of the whole keys, already computed (the scan gets it
    from rapidfuzz.process in bulk). It is at most (whole + 100) / 2, so pairs whose whole
    ratio is below 2 × threshold − 100 can be skipped without computing this."""
    score = (whole + float(fuzz.ratio(a[:HEAD], b[:HEAD]))) / 2
    if score > NUMBER_CAP:
        numbers_a, numbers_b = _NUMBERS.findall(a), _NUMBERS.findall(b)
        if numbers_a and numbers_b and numbers_a != numbers_b:
            return NUMBER_CAP
    return score
