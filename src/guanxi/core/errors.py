"""One hierarchy of business errors, each with a stable code and a Chinese message.

The API renders them as {"code", "message", "detail"}; pages show `message` at the top
of the form and `detail[field]` next to each field.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    http_status = 400
    default_message: Any = _("操作失败。")

    def __init__(self, message: Any = None, *, detail: dict[str, Any] | None = None):
        self.message = message if message is not None else self.default_message
        self.detail = detail or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    """Input that breaks a rule; `detail` maps field name -> list of messages."""

    code = "invalid"
    default_message = _("提交的数据有误，请检查标记的字段。")

    @property
    def field_errors(self) -> dict[str, Any]:
        return self.detail


class NotFound(DomainError):
    """Missing and out-of-scope objects look exactly the same."""

    code = "not_found"
    http_status = 404
    default_message = _("记录不存在或您无权访问。")


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    default_message = _("您没有执行此操作的权限。")


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    default_message = _("操作与现有数据冲突。")


class DuplicateCreditCode(Conflict):
    code = "duplicate_credit_code"
    default_message = _("该统一社会信用代码已被其他客户档案使用。")


class PossibleDuplicate(Conflict):
    """Filing a customer whose normalised name matches (or nearly matches) live customers
    and no credit code tells them apart. `detail["candidates"]` lists {id, name, score}
    only — candidates may lie outside the user's data scope. Repeat with
    confirm_duplicate to file it anyway."""

    code = "possible_duplicate"
    default_message = _(
        "已有名称相同或相近的客户档案，可能是重复建档。请核对；确认不是同一客户后仍可创建。"
    )


class AlreadyMerged(Conflict):
    code = "already_merged"
    default_message = _("该客户档案已被合并到其他客户，不能再次合并。")


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_message = _("用户名或密码错误。")


# --- ledger / credit (issue 4) ----------------------------------------------------------------
class CreditLimitExceeded(Conflict):
    """Recording a shipment would take the customer's exposure over the credit limit in
    force (credit.*). `detail`: limit, exposure (before), amount, shortfall — decimal
    strings. Refused unless an approved one-off override is named."""

    code = "credit_limit_exceeded"
    default_message = _("超出信用额度，不能出货。")


class LimitBelowBalance(Conflict):
    """A credit limit below the customer's current balance needs explicit confirmation
    (confirm_below_balance). `detail`: limit, balance."""

    code = "limit_below_balance"
    default_message = _("信用额度低于客户当前应收余额，请确认后再提交。")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_message = _("该笔记录已经冲销过，不能重复冲销。")


class OverrideNotUsable(Conflict):
    """The named one-off override is not approved, belongs to another customer, was used
    already or does not cover the amount."""

    code = "override_not_usable"
    default_message = _("该超额度特批不可用（未批准、已使用、客户不符或金额不足）。")


class InvalidState(Conflict):
    """The record is not in a state that allows the action (e.g. approving a decided
    proposal, opening a round outside the last month of a quarter)."""

    code = "invalid_state"
    default_message = _("当前状态下不能执行此操作。")
