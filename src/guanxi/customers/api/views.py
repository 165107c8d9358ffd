"""REST endpoints of the customer archive.

    /api/customers/                 list (search, filters, sort) · create
    /api/customers/{id}/            retrieve (audited as a view) · PATCH · DELETE (soft)
    /api/customers/{id}/history/    the customer's change history
    /api/contacts/ [{id}/]          list · create · retrieve · PATCH · DELETE (soft)

Each action parses input, calls one service or selector and renders. Records are fetched
through scope first (404 when missing or out of scope), then the action permission is
checked (403), then the input (400).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import ApiViewSetMixin, IdField, ListField, error_responses, id_parameter
from guanxi.customers import selectors, services
from guanxi.customers.api.serializers import (
    ContactSerializer,
    ContactUpdateSerializer,
    CustomerSerializer,
    HistoryEventSerializer,
)
from guanxi.customers.dedup.selectors import customer_timeline
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.search.pagination import api_page

VIEW_CUSTOMER = "customers.view_customer"
ADD_CUSTOMER = "customers.add_customer"
CHANGE_CUSTOMER = "customers.change_customer"
DELETE_CUSTOMER = "customers.delete_customer"

# DRF-style `ordering` (field name, "-" for descending) onto the selector's sort keys.
ORDERING = {
    "name": "name",
    "-name": "-name",
    "updated_at": "-updated",
    "-updated_at": "updated",
    "created_at": "-created",
    "-created_at": "created",
}


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Typed query parameters; malformed ones are a 400 with field errors."""
    form = serializer_class(data=request.query_params)
    form.is_valid(raise_exception=True)
    return form.validated_data


# --- customers ---------------------------------------------------------------------------------
class CustomerFilterSerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="客户名称、信用代码、电话、联系人姓名或手机中的任意片段（中文子串）",
    )
    customer_type = serializers.CharField(
        required=False, allow_blank=True, max_length=30, help_text="客户类型代码"
    )
    region = IdField(required=False, help_text="区域ID")
    owner = IdField(required=False, help_text="负责人ID")
    department = IdField(required=False, help_text="分支机构ID")
    tag = ListField(
        child=serializers.CharField(max_length=30),
        required=False,
        help_text="标签名称，可重复（须同时具有）",
    )
    sort = serializers.ChoiceField(
        choices=list(selectors.SORTS),
        required=False,
        help_text="updated=最近更新在前，name=名称，created=最近建档在前；加 - 反序",
    )
    ordering = serializers.ChoiceField(
        choices=list(ORDERING), required=False, help_text="按字段排序，- 表示降序（与 sort 二选一）"
    )
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="键集分页：留空取第一页，之后使用响应中 next/previous 链接里的游标；"
        "带此参数时响应为 {next, previous, results}，不含 count",
    )


def _tag_ids(names: list[str]) -> list[int]:
    ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    # An unknown tag matches nothing: id 0 never exists.
    return [ids.get(name, 0) for name in names]


def _for_rendering(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """What CustomerSerializer reads, fetched once for a whole page."""
    live = Contact.objects.filter(deleted_at__isnull=True)
    return customers.prefetch_related(
        "co_owners", Prefetch("contacts", queryset=live, to_attr="live_contacts")
    )


def _write_arguments(validated: dict[str, Any]) -> dict[str, Any]:
    """Serializer output onto the keyword arguments of customer_create/customer_update."""
    data = dict(validated)
    related = {key: data.pop(key, None) for key in ("contacts", "tags", "co_owners")}
    return {"data": data, **related}


ID = [id_parameter()]


@extend_schema_view(
    list=extend_schema(
        summary="客户列表",
        parameters=[CustomerFilterSerializer],
        responses={200: CustomerSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="新建客户档案",
        responses={201: CustomerSerializer, **error_responses(400, 401, 403, 409)},
    ),
    retrieve=extend_schema(
        summary="客户详情（记入审计日志）",
        parameters=ID,
        responses={200: CustomerSerializer, **error_responses(401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="修改客户档案",
        parameters=ID,
        responses={200: CustomerSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    destroy=extend_schema(
        summary="删除客户（移入回收站）",
        parameters=ID,
        responses={204: OpenApiResponse(description="已删除"), **error_responses(401, 403, 404)},
    ),
    history=extend_schema(
        summary="客户变更历史",
        parameters=ID,
        responses={200: HistoryEventSerializer(many=True), **error_responses(401, 403, 404)},
    ),
)
class CustomerViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Customer archives in the requester's data scope."""

    serializer_class = CustomerSerializer
    action_permissions = {
        "list": [VIEW_CUSTOMER],
        "create": [ADD_CUSTOMER],
        "retrieve": [VIEW_CUSTOMER],
        "partial_update": [CHANGE_CUSTOMER],
        "destroy": [DELETE_CUSTOMER],
        "history": [VIEW_CUSTOMER],
    }

    object_getter = staticmethod(selectors.customer_get)

    def _render(self, customer_id: int, **kwargs: Any) -> Response:
        customer = selectors.customer_get(actor=self.request.user, pk=customer_id)
        return Response(self.get_serializer(customer).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(CustomerFilterSerializer, request)
        sort = ORDERING.get(params.get("ordering", ""), params.get("sort", "updated"))
        customers = selectors.customer_list(
            actor=request.user,
            search=params.get("search", ""),
            customer_type=params.get("customer_type", ""),
            region_id=params.get("region"),
            owner_id=params.get("owner"),
            department_id=params.get("department"),
            tag_ids=_tag_ids(params.get("tag", [])),
            sort=sort,
        )
        if "cursor" in request.query_params:
            # Keyset pages for deep lists (customers.search.pagination): no count, and
            # every depth costs the same.
            keyset = api_page(
                request,
                _for_rendering(customers),
                sort=sort,
                size=self.paginator.get_page_size(request),
            )
            return keyset.response(self.get_serializer(keyset.rows, many=True).data)
        page = self.paginate_queryset(_for_rendering(customers))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        validated = dict(form.validated_data)
        customer = services.customer_create(
            actor=request.user,
            confirm_duplicate=validated.pop("confirm_duplicate", False),
            **_write_arguments(validated),
        )
        return self._render(customer.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        services.customer_view_record(actor=request.user, customer=customer)
        return Response(self.get_serializer(customer).data)

    def partial_update(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        form = self.get_serializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        services.customer_update(
            actor=request.user, customer_id=customer.pk, **_write_arguments(form.validated_data)
        )
        return self._render(customer.pk)

    def destroy(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        services.customer_delete(actor=request.user, customer_id=customer.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def history(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        # Includes the histories of customers merged into this one (customers.dedup).
        page = self.paginate_queryset(customer_timeline(customer_id=customer.pk))
        context = {**self.get_serializer_context(), "customer": customer}
        return self.get_paginated_response(
            HistoryEventSerializer(page, many=True, context=context).data
        )


# --- contacts ----------------------------------------------------------------------------------
class ContactFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="姓名或手机片段"
    )


@extend_schema_view(
    list=extend_schema(
        summary="联系人列表",
        parameters=[ContactFilterSerializer],
        responses={200: ContactSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="新建联系人",
        responses={201: ContactSerializer, **error_responses(400, 401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="联系人详情",
        parameters=ID,
        responses={200: ContactSerializer, **error_responses(401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="修改联系人",
        parameters=ID,
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="删除联系人",
        parameters=ID,
        responses={204: OpenApiResponse(description="已删除"), **error_responses(401, 403, 404)},
    ),
)
class ContactViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Contacts of the customers in the requester's data scope."""

    serializer_class = ContactSerializer
    action_permissions = {
        "list": [VIEW_CUSTOMER],
        "create": [CHANGE_CUSTOMER],
        "retrieve": [VIEW_CUSTOMER],
        "partial_update": [CHANGE_CUSTOMER],
        "destroy": [CHANGE_CUSTOMER],
    }

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ContactUpdateSerializer if self.action == "partial_update" else ContactSerializer

    object_getter = staticmethod(selectors.contact_get)

    def _render(self, contact_id: int, **kwargs: Any) -> Response:
        contact = selectors.contact_get(actor=self.request.user, pk=contact_id)
        return Response(
            ContactSerializer(contact, context=self.get_serializer_context()).data, **kwargs
        )

    def list(self, request: Request) -> Response:
        params = _query(ContactFilterSerializer, request)
        contacts = selectors.contact_list(
            actor=request.user, customer_id=params.get("customer"), search=params.get("search", "")
        )
        page = self.paginate_queryset(contacts)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        customer_id = data.pop("customer")
        contact = services.contact_create(actor=request.user, customer_id=customer_id, data=data)
        return self._render(contact.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def partial_update(self, request: Request, id: str) -> Response:
        contact = self.get_object()
        form = self.get_serializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        services.contact_update(
            actor=request.user, contact_id=contact.pk, data=dict(form.validated_data)
        )
        return self._render(contact.pk)

    def destroy(self, request: Request, id: str) -> Response:
        contact = self.get_object()
        services.contact_delete(actor=request.user, contact_id=contact.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
