"""REST plumbing shared by every app: structured errors and pagination.

Every 4xx answer is {"code": str, "message": Chinese text, "detail": {...}} with field
errors in detail keyed by field name.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from guanxi.core.errors import DomainError

_DRF_CODES = {
    drf.NotAuthenticated: ("not_authenticated", lambda: _("请先登录。")),
    drf.AuthenticationFailed: ("authentication_failed", lambda: _("身份验证失败。")),
    drf.PermissionDenied: ("permission_denied", lambda: _("您没有执行此操作的权限。")),
    drf.NotFound: ("not_found", lambda: _("记录不存在或您无权访问。")),
    drf.MethodNotAllowed: ("method_not_allowed", lambda: _("不支持该请求方法。")),
    drf.ParseError: ("parse_error", lambda: _("请求内容无法解析，请提交合法的JSON。")),
    drf.UnsupportedMediaType: ("unsupported_media_type", lambda: _("不支持的内容类型。")),
    drf.Throttled: ("throttled", lambda: _("请求过于频繁，请稍后再试。")),
    drf.NotAcceptable: ("not_acceptable", lambda: _("无法提供所请求的格式。")),
}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(
            {"code": exc.code, "message": str(exc.message), "detail": _flatten(exc.detail)},
            status=exc.http_status,
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        detail = _flatten(exc.detail)
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
        response.data = {
            "code": "invalid",
            "message": _("提交的数据有误，请检查标记的字段。"),
            "detail": detail,
        }
        return response
    for exc_type, (code, message) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            response.data = {"code": code, "message": message(), "detail": {}}
            return response
    response.data = {"code": "error", "message": str(getattr(exc, "detail", exc)), "detail": {}}
    return response


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
