"""REST API of the organisation: API tokens, departments and users (administrators).

    POST /api/auth/token/            {"username", "password"} -> {"token"}
    /api/departments/ [{id}/]        list, create, retrieve, update    org.*_department
    /api/users/ [{id}/]              list, create, retrieve, update    org.*_user

Views parse input, call one service or selector and render; the rules live in
org.services.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guanxi.core import errors
from guanxi.core.api import (
    ApiViewSetMixin,
    ListField,
    ScopedPrimaryKeyRelatedField,
    error_responses,
    id_parameter,
)
from guanxi.org import services
from guanxi.org.models import Department, Role, User
from guanxi.org.selectors import (
    department_get,
    departments_visible_to,
    user_get,
    user_list,
)


# --- tokens ----------------------------------------------------------------------------------
class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """Exchange a username and password for an API token (`Authorization: Token …`).

    Failed attempts count towards the login lockout (policy security.lockout_failures);
    a locked account gets 403 {"code": "locked_out"} even with the right password."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            **error_responses(400),
            403: OpenApiResponse(description="登录失败次数过多，账号已锁定（code: locked_out）"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # django-axes watches the real HttpRequest: it counts failures there and flags a
        # locked account, which AxesMiddleware answers with security.lockout_response.
        http_request = request._request
        user = authenticate(
            request=http_request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            raise errors.InvalidCredentials()
        # A token login is a login: axes resets the failure count, last_login is stamped.
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
        return Response({"token": services.auth_token_issue(user=user)})


# --- departments -----------------------------------------------------------------------------
class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=Department._meta.get_field("name").max_length)
    parent = ScopedPrimaryKeyRelatedField(
        selector=departments_visible_to, allow_null=True, required=False
    )
    kind = serializers.ChoiceField(choices=Department.Kind.choices, required=False)
    code = serializers.CharField(
        max_length=Department._meta.get_field("code").max_length, allow_blank=True, required=False
    )
    is_active = serializers.BooleanField(read_only=True)


@extend_schema_view(
    list=extend_schema(
        summary="部门列表",
        responses={200: DepartmentSerializer(many=True), **error_responses(401, 403)},
    ),
    create=extend_schema(
        summary="新建部门", responses={201: DepartmentSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="部门详情",
        parameters=[id_parameter()],
        responses={200: DepartmentSerializer, **error_responses(401, 403, 404)},
    ),
    update=extend_schema(
        summary="修改部门",
        parameters=[id_parameter()],
        responses={200: DepartmentSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="修改部门（部分字段）",
        parameters=[id_parameter()],
        responses={200: DepartmentSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class DepartmentViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """The company tree (administrators: org.*_department)."""

    serializer_class = DepartmentSerializer
    action_permissions = {
        "list": ["org.view_department"],
        "create": ["org.add_department"],
        "retrieve": ["org.view_department"],
        "update": ["org.change_department"],
        "partial_update": ["org.change_department"],
    }

    object_getter = staticmethod(department_get)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(departments_visible_to(request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        department = services.department_create(actor=request.user, **form.validated_data)
        return Response(self.get_serializer(department).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request: Request, id: str, partial: bool = False) -> Response:
        department = self.get_object()
        form = self.get_serializer(department, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        department = services.department_update(
            actor=request.user, department=department, **form.validated_data
        )
        return Response(self.get_serializer(department).data)

    def partial_update(self, request: Request, id: str) -> Response:
        return self.update(request, id, partial=True)


# --- users -----------------------------------------------------------------------------------
def _max_length(field: str) -> int:
    return User._meta.get_field(field).max_length


class RoleCodesField(ListField):
    """Role codes in, role codes out (read from the groups user_list prefetches with their role)."""

    def get_attribute(self, instance: User) -> list[str]:
        return [group.role.code for group in instance.groups.all() if hasattr(group, "role")]


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=_max_length("username"))
    password = serializers.CharField(
        max_length=128, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    name = serializers.CharField(max_length=_max_length("name"), allow_blank=True, required=False)
    department = ScopedPrimaryKeyRelatedField(
        selector=departments_visible_to, allow_null=True, required=False
    )
    roles = RoleCodesField(
        child=serializers.CharField(max_length=Role._meta.get_field("code").max_length),
        required=False,
        help_text="角色代码：salesperson, supervisor, sales_director, general_manager, finance, "
        "customer_service, legal, archive_keeper, administrator",
    )
    email = serializers.EmailField(
        max_length=_max_length("email"), allow_blank=True, required=False
    )
    mobile = serializers.CharField(
        max_length=_max_length("mobile"), allow_blank=True, required=False
    )
    title = serializers.CharField(max_length=_max_length("title"), allow_blank=True, required=False)
    is_active = serializers.BooleanField(read_only=True)


class UserUpdateSerializer(UserSerializer):
    """Username is fixed once created; the password is changed only when given."""

    username = serializers.CharField(read_only=True)
    password = serializers.CharField(
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        required=False,
        style={"input_type": "password"},
    )


@extend_schema_view(
    list=extend_schema(
        summary="用户列表", responses={200: UserSerializer(many=True), **error_responses(401, 403)}
    ),
    create=extend_schema(
        summary="新建用户", responses={201: UserSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="用户详情",
        parameters=[id_parameter()],
        responses={200: UserSerializer, **error_responses(401, 403, 404)},
    ),
    update=extend_schema(
        summary="修改用户",
        parameters=[id_parameter()],
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="修改用户（部分字段）",
        parameters=[id_parameter()],
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class UserViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Users with their roles (administrators: org.*_user). `roles` is a list of role codes;
    `password` is write-only and checked against the password policy."""

    action_permissions = {
        "list": ["org.view_user"],
        "create": ["org.add_user"],
        "retrieve": ["org.view_user"],
        "update": ["org.change_user"],
        "partial_update": ["org.change_user"],
    }

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action in {"update", "partial_update"}:
            return UserUpdateSerializer
        return UserSerializer

    object_getter = staticmethod(user_get)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(user_list(request.user, include_inactive=True))
        return self.get_paginated_response(
            UserSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    def create(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **form.validated_data)
        return Response(self._render(user), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request: Request, id: str, partial: bool = False) -> Response:
        user = self.get_object()
        form = self.get_serializer(user, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, **form.validated_data)
        return Response(self._render(user))

    def partial_update(self, request: Request, id: str) -> Response:
        return self.update(request, id, partial=True)

    def _render(self, user: User) -> dict[str, Any]:
        return UserSerializer(
            user_get(actor=self.request.user, pk=user.pk), context=self.get_serializer_context()
        ).data
