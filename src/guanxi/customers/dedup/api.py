"""REST endpoints of duplicate handling.

    POST /api/customers/{id}/merge/              merge {"from": other_id} into id
    GET  /api/customer-merges/                   merges whose survivor the user may see
    POST /api/customer-merges/{id}/reverse/      reverse a merge (administrators)

Order of answers as everywhere (core.api): 404 when a record is missing or outside the
user's scope, then 403 for a missing permission, then 400 for bad input.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import ApiViewSetMixin, IdField, error_responses, id_parameter
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.api.serializers import CustomerSerializer
from guanxi.customers.dedup import selectors, services
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.models import Customer

CHANGE_CUSTOMER = "customers.change_customer"
DELETE_CUSTOMER = "customers.delete_customer"
RESTORE_CUSTOMER = "customers.restore_customer"
VIEW_CUSTOMER = "customers.view_customer"


class CustomerMergeSerializer(serializers.Serializer):
    """`from` is merged into the customer of the URL; `fields` picks, per field, whose
    value the survivor keeps (default: the survivor's, or the other's where it is empty)."""

    from_ = IdField(help_text="被合并（将移出客户列表）的客户ID")
    fields_ = serializers.DictField(
        child=serializers.ChoiceField(choices=[services.SURVIVOR, services.MERGED]),
        required=False,
        help_text='字段取舍，如 {"phone": "merged"}；survivor=保留客户的值，merged=被合并客户的值',
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        fields["fields"] = fields.pop("fields_")
        return fields


class MergeRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survivor = serializers.IntegerField(source="survivor_id", help_text="保留客户ID")
    survivor_name = serializers.CharField(source="survivor.name")
    merged = serializers.IntegerField(source="merged_id", help_text="被合并客户ID")
    merged_name = serializers.CharField(source="merged.name")
    actor = serializers.IntegerField(source="actor_id", help_text="操作人ID")
    at = serializers.DateTimeField(help_text="合并时间")
    field_choices = serializers.DictField(child=serializers.CharField(), help_text="字段取舍")
    reversed_at = serializers.DateTimeField(allow_null=True, help_text="撤销时间")
    reversible_until = serializers.SerializerMethodField(help_text="可撤销的截止时间")

    def get_reversible_until(self, record: MergeRecord) -> str:
        return serializers.DateTimeField().to_representation(
            services.merge_reversible_until(record)
        )


def _customer_json(view: Any, customer_id: int) -> dict[str, Any]:
    customer = customer_selectors.customer_get(actor=view.request.user, pk=customer_id)
    return CustomerSerializer(customer, context=view.get_serializer_context()).data


class CustomerMergeViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Merging two customers of the requester's change scope."""

    serializer_class = CustomerMergeSerializer
    action_permissions = {"merge": [CHANGE_CUSTOMER, DELETE_CUSTOMER]}

    @extend_schema(
        summary="合并客户（把 from 合并入本客户）",
        parameters=[id_parameter()],
        request=CustomerMergeSerializer,
        responses={200: CustomerSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def merge(self, request: Request, id: str) -> Response:
        survivor: Customer = customer_selectors.customer_get(actor=request.user, pk=id)
        self.check_object_permissions(request, survivor)
        form = CustomerMergeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        merged = customer_selectors.customer_get(actor=request.user, pk=form.validated_data["from"])
        customer = services.customer_merge(
            actor=request.user,
            survivor_id=survivor.pk,
            merged_id=merged.pk,
            field_choices=form.validated_data.get("fields"),
        )
        return Response(_customer_json(self, customer.pk))


@extend_schema_view(
    list=extend_schema(
        summary="客户合并记录",
        responses={200: MergeRecordSerializer, **error_responses(401, 403, 404)},
    ),
)
class MergeRecordViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Merges whose survivor is in the requester's scope; reversal for administrators."""

    serializer_class = MergeRecordSerializer
    action_permissions = {"list": [VIEW_CUSTOMER], "reverse_merge": [RESTORE_CUSTOMER]}

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.merge_records(actor=request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="撤销客户合并（系统管理员、档案管理员；回收站保留期内）",
        parameters=[id_parameter()],
        request=None,
        responses={200: CustomerSerializer, **error_responses(401, 403, 404, 409)},
    )
    def reverse_merge(self, request: Request, id: str) -> Response:
        record = selectors.merge_get(actor=request.user, pk=id)
        self.check_object_permissions(request, record)
        restored = services.customer_merge_reverse(actor=request.user, merge_id=record.pk)
        return Response(_customer_json(self, restored.pk))
