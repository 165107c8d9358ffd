"""China-specific validation and formatting helpers, shared by models, forms and the API.

- Unified social credit code (统一社会信用代码, GB 32100-2015): python-stdnum's cn.uscc.
- Mainland mobile numbers: 11 digits starting 1[3-9].
- Postcodes: 6 digits.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
POSTCODE_RE = re.compile(r"^\d{6}$")
_FULLWIDTH = {
    ord(c): ord(c) - 0xFEE0
    for c in "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
}


def normalise_credit_code(value: str) -> str:
    """Upper-case, strip spaces and dashes, fold full-width digits and letters."""
    return re.sub(r"[\s\-]", "", (value or "").translate(_FULLWIDTH)).upper()


def credit_code_problem(value: str) -> str | None:
    """Return a Chinese explanation of what is wrong with a credit code, or None if valid."""
    code = normalise_credit_code(value)
    try:
        uscc.validate(code)
    except InvalidLength:
        return str(_("统一社会信用代码应为18位。"))
    except InvalidFormat:
        return str(_("统一社会信用代码含有不允许的字符（不得使用I、O、S、V、Z）。"))
    except InvalidComponent:
        return str(_("统一社会信用代码的登记管理部门或机构类别代码无效。"))
    except InvalidChecksum:
        return str(_("统一社会信用代码校验位错误（GB 32100-2015），请核对。"))
    return None


def credit_code_with_check(prefix17: str) -> str:
    """Complete a 17-character prefix with its GB 32100-2015 check character."""
    return prefix17 + uscc.calc_check_digit(prefix17)


def normalise_mobile(value: str) -> str:
    digits = re.sub(r"[\s\-]", "", (value or "").translate(_FULLWIDTH))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def validate_mobile(value: str) -> None:
    if value and not MOBILE_RE.match(normalise_mobile(value)):
        raise ValidationError(
            _("手机号码应为11位中国大陆手机号，以13–19开头，例如 13812345678。"), code="mobile"
        )


def validate_postcode(value: str) -> None:
    if value and not POSTCODE_RE.match(value):
        raise ValidationError(_("邮政编码应为6位数字。"), code="postcode")


def mask_phone(value: str) -> str:
    """138****1234 for mobiles; keep the last four digits of anything else."""
    if not value:
        return value
    digits = normalise_mobile(value)
    if MOBILE_RE.match(digits):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(value) <= 4:
        return "****"
    return "*" * (len(value) - 4) + value[-4:]
