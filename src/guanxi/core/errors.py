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


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_message = _("用户名或密码错误。")
