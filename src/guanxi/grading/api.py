"""Grading API: GET /api/customers/{id}/grade/ — the customer's grade, score, policy
version and breakdown (indicator, raw value, points, weight, contribution; the
contributions add up to the score). Scoped: a customer out of scope answers 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import ApiViewSetMixin, error_responses
from guanxi.customers.selectors import customer_get
from guanxi.grading.selectors import grade_view

ID = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="客户ID")]


class BreakdownLineSerializer(serializers.Serializer):
    indicator = serializers.CharField(help_text="指标代码")
    label = serializers.CharField(help_text="指标名称")
    value = serializers.CharField(allow_null=True, help_text="原始值（无数据为 null）")
    points = serializers.DecimalField(max_digits=4, decimal_places=2, help_text="得分（0–5）")
    weight = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="权重")
    contribution = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="对总分的贡献"
    )


class CustomerGradeSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    grade = serializers.CharField(help_text="等级代码（grading.bands）")
    grade_label = serializers.CharField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="总分 0–100")
    policy_version = serializers.IntegerField(help_text="计算所用的策略版本（0 = 默认策略）")
    computed_at = serializers.DateTimeField(allow_null=True)
    stored = serializers.BooleanField(help_text="false：尚未批量评级，此为即时计算结果")
    breakdown = BreakdownLineSerializer(many=True)


class CustomerGradeViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """GET /api/customers/{id}/grade/"""

    serializer_class = CustomerGradeSerializer
    # The breakdown shows sales and profit figures: the ledger's own view permission.
    action_permissions = {"retrieve": ["customers.view_customer", "ledger.view_shipment"]}

    @extend_schema(
        summary="客户等级：总分、策略版本与评分明细",
        parameters=ID,
        responses={200: CustomerGradeSerializer, **error_responses(401, 403, 404)},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        customer = customer_get(actor=request.user, pk=id)
        self.check_object_permissions(request, customer)
        view: Any = grade_view(customer)
        return Response(CustomerGradeSerializer(view).data)
