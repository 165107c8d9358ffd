import pytest
from django.core.exceptions import ValidationError

from guanxi.core.china import (
    credit_code_problem,
    credit_code_with_check,
    mask_phone,
    normalise_credit_code,
    normalise_mobile,
    validate_mobile,
    validate_postcode,
)
from guanxi.core.testing import REAL_CREDIT_CODES, valid_credit_code


@pytest.mark.parametrize("code", sorted(REAL_CREDIT_CODES.values()))
def test_real_published_credit_codes_pass(code):
    assert credit_code_problem(code) is None


@pytest.mark.parametrize("code", sorted(REAL_CREDIT_CODES.values()))
def test_altering_any_single_character_of_a_real_code_fails(code):
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for position in (2, 9, 17):
        replacement = next(c for c in alphabet if c != code[position])
        altered = code[:position] + replacement + code[position + 1 :]
        assert credit_code_problem(altered) is not None, altered


def test_messages_say_what_is_wrong_in_chinese():
    huawei = REAL_CREDIT_CODES["华为技术有限公司"]
    assert (
        credit_code_problem(huawei[:-1] + ("7" if huawei[-1] != "7" else "8"))
        == "统一社会信用代码校验位错误（GB 32100-2015），请核对。"
    )
    assert credit_code_problem(huawei[:17]) == "统一社会信用代码应为18位。"
    assert "不允许的字符" in credit_code_problem(huawei[:10] + "I" + huawei[11:])


def test_credit_code_normalisation_folds_width_case_and_spaces():
    assert normalise_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"
    assert normalise_credit_code("９１４４０３００１９２２０３８２１６") == "914403001922038216"


def test_generated_codes_carry_a_correct_check_character():
    for seed in range(50):
        assert credit_code_problem(valid_credit_code(seed)) is None
    assert credit_code_with_check("91440300192203821") == "914403001922038216"


@pytest.mark.parametrize(
    "mobile",
    ["13812345678", "19912345678", "+86 138 1234 5678", "138-1234-5678", "１３８１２３４５６７８"],
)
def test_valid_mobiles(mobile):
    validate_mobile(mobile)


@pytest.mark.parametrize(
    "mobile", ["1381234567", "12812345678", "23812345678", "138123456789", "abc", "010-12345678"]
)
def test_invalid_mobiles_get_a_chinese_message(mobile):
    with pytest.raises(ValidationError) as info:
        validate_mobile(mobile)
    assert "11位" in info.value.messages[0]


def test_mobile_normalisation():
    assert normalise_mobile("+86 138-1234-5678") == "13812345678"
    assert normalise_mobile("0086 13812345678") == "13812345678"


def test_postcodes():
    validate_postcode("100080")
    for bad in ["10008", "1000800", "10008A"]:
        with pytest.raises(ValidationError) as info:
            validate_postcode(bad)
        assert info.value.messages == ["邮政编码应为6位数字。"]


def test_masking():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 13812345678") == "138****5678"
    assert mask_phone("010-62345678") == "********5678"
    assert mask_phone("") == ""
