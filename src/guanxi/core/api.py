"""REST plumbing shared by every app: structured errors, pagination, permissions and the
small input fields every endpoint needs.

Every 4xx answer is {"code": str, "message": Chinese text, "detail": {...}} with field
errors in detail keyed by field name.

Object endpoints answer in a fixed order: 404 when the record is missing *or* outside the
user's data scope, then 403 when the user may see it but not do the action, then 400 for
bad input. So nobody learns whether a record they cannot see exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.metadata import BaseMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from guanxi.core.errors import Conflict, DomainError

logger = logging.getLogger(__name__)

# Largest primary key the databases store (bigint): a larger id is a malformed request,
# answered as a field error before any lookup.
MAX_ID = 2**63 - 1

_DRF_CODES: dict[type[drf.APIException], tuple[str, Callable[[], str]]] = {
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


class InvalidPage(DomainError):
    code = "invalid_page"
    http_status = 404
    default_message = gettext_lazy("页码无效或超出范围。")


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    if detail is None or isinstance(detail, bool | int | float):
        return detail  # numbers in a detail stay numbers (e.g. possible_duplicate ids, scores)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IntegrityError):
        # Services check every rule first; a constraint that still fires is a race or a
        # rule a service misses. Either way the client gets a conflict, never a 500.
        logger.warning("integrity error answered as 409: %s", exc)
        exc = Conflict()
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

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except drf.NotFound:
            raise InvalidPage() from None


class ActionPermission(BasePermission):
    """Django permissions per viewset action, declared on the view:

        action_permissions = {"list": ["customers.view_customer"], ...}

    Collection actions are checked before anything else; detail actions only once the
    object was fetched through scope (view.get_object), so 404 comes before 403.
    An action missing from the map is refused.
    """

    def _allowed(self, request: Any, view: Any) -> bool:
        required = getattr(view, "action_permissions", {}).get(view.action)
        return required is not None and request.user.has_perms(required)

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "detail", False):
            return True
        return self._allowed(request, view)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return self._allowed(request, view)


class ApiViewSetMixin:
    """Put first in the bases of every viewset (`class X(ApiViewSetMixin, GenericViewSet)`;
    DRF imports this module through its settings, so it cannot import the viewsets here).

    JSON in and out, ActionPermission, records addressed by `id`.

    Each action fetches through a scoped selector (no `queryset` here). Any text is
    accepted as an id so that a malformed one gets the same structured 404 as a missing
    one; the schema documents it as an integer (id_parameter). No browsable API and no
    OPTIONS metadata: the documentation is /api/schema/ and /api/docs/."""

    metadata_class: str | type[BaseMetadata] | None = None
    permission_classes: Sequence[Any] = [ActionPermission]
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    lookup_field = "id"
    lookup_value_regex = "[^/]+"
    action_permissions: dict[str, list[str]] = {}
    # The scoped selector that fetches one record: `getter(actor=, pk=)`, raising NotFound
    # for unknown and invisible ids alike (set as `staticmethod(selectors.x_get)`).
    object_getter: Callable[..., Any] | None = None

    def get_object(self) -> Any:
        if self.object_getter is None:
            return super().get_object()  # type: ignore[misc]  # GenericAPIView follows in the MRO
        row = self.object_getter(actor=self.request.user, pk=self.kwargs[self.lookup_field])  # type: ignore[attr-defined]
        self.check_object_permissions(self.request, row)  # type: ignore[attr-defined]
        return row


class DecisionActionsMixin:
    """`approve` and `reject` actions of a viewset over requests that someone decides
    (price coefficients, credit overrides …): fetch the record through the viewset's scoped
    `get_object` (404, then 403 from action_permissions), validate the body with
    `decision_serializer`, call `decide(actor=, pk=, approve=, **body)` (the service) and
    answer with the record as `_render(pk)` shows it. Put after ApiViewSetMixin."""

    decision_serializer: type[serializers.Serializer[Any]]

    def decide(self, *, actor: Any, pk: int, approve: bool, **data: Any) -> Any:
        raise NotImplementedError

    def _render(self, pk: int, **kwargs: Any) -> Response:
        raise NotImplementedError

    def _decision(self, request: Any, approve: bool) -> Response:
        row = self.get_object()  # type: ignore[attr-defined]
        form = self.decision_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        self.decide(actor=request.user, pk=row.pk, approve=approve, **form.validated_data)
        return self._render(row.pk)

    @action(detail=True, methods=["post"])
    def approve(self, request: Any, id: str) -> Response:
        return self._decision(request, True)

    @action(detail=True, methods=["post"])
    def reject(self, request: Any, id: str) -> Response:
        return self._decision(request, False)


class IdField(serializers.IntegerField):
    """A primary key given by the client: a positive integer that fits the database."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


def _is_indexed(detail: Any) -> bool:
    return isinstance(detail, dict) and all(isinstance(key, int) for key in detail)


class AlignedListSerializer(serializers.ListSerializer[Any]):
    """Nested item errors as a list aligned with the submitted items ({} for good ones),
    the shape the services use (e.g. detail["contacts"] = [{}, {"mobile": [...]}])."""

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            items: list[Any] = super().to_internal_value(data)
        except drf.ValidationError as exc:
            detail: Any = exc.detail  # indexed by item position (checked below)
            if not _is_indexed(detail):
                raise
            raise drf.ValidationError([detail.get(i, {}) for i in range(len(data))]) from None
        return items


class ListField(serializers.ListField):
    """A list of plain values whose item errors read as one flat list of messages, like
    the services' errors for such fields (detail["co_owners"] = ["…"])."""

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            return super().to_internal_value(data)
        except drf.ValidationError as exc:
            detail: Any = exc.detail  # indexed by item position (checked below)
            if not _is_indexed(detail):
                raise
            messages = [str(m) for errors in detail.values() for m in errors]
            raise drf.ValidationError(list(dict.fromkeys(messages))) from None


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A related id resolved only among the records a selector lets the user see.

    `selector(actor)` returns the visible queryset; unknown and invisible ids both give the
    same field error.
    """

    def __init__(self, *, selector: Any, **kwargs: Any):
        self.selector = selector
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        return self.selector(self.context["request"].user)


class ErrorSerializer(serializers.Serializer[Any]):
    """The shape of every error answer (documentation only)."""

    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.DictField()


_ERROR_DESCRIPTIONS = {
    400: "提交的数据有误（detail 按字段列出错误）",
    401: "未登录或令牌无效",
    403: "没有执行此操作的权限",
    404: "记录不存在或超出数据范围",
    409: "与现有数据冲突",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error statuses, all in the {code, message, detail} shape."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


def id_parameter(name: str = "id") -> OpenApiParameter:
    """The record id in the path. The URL accepts any text so that a malformed id gets the
    same structured 404 as a missing one; the schema documents it as an integer."""
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH)


def decision_schemas(*, approve: str, reject: str, request: Any, response: Any) -> dict[str, Any]:
    """The OpenAPI documentation of DecisionActionsMixin's two actions, for
    extend_schema_view(**decision_schemas(…))."""
    return {
        action_name: extend_schema(
            summary=summary,
            parameters=[id_parameter()],
            request=request,
            responses={200: response, **error_responses(400, 401, 403, 404, 409)},
        )
        for action_name, summary in (("approve", approve), ("reject", reject))
    }
