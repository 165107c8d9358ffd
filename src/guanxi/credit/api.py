"""REST endpoints of credit control.

    /api/customers/{id}/credit/                  level, limit, exposure, balance, ageing …
    /api/credit-limits/ [{id}/] [{id}/approve|reject/]   proposals and approvals
    /api/credit-overrides/ [{id}/] [{id}/approve|reject/]  one-off overrides
    /api/credit-ratings/                         ratings (list · rate now)
    /api/credit-rounds/                          quarterly rounds (list · open)
    /api/credit-warnings/                        customers over or near their limit
    /api/credit-investigations/ [{id}/close/]    the owners' investigation tasks

Records are fetched through scope first (404), then the action permission (403), then the
input (400). Amounts are decimal strings.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import (
    ApiViewSetMixin,
    DecisionActionsMixin,
    IdField,
    decision_schemas,
    error_responses,
    id_parameter,
)
from guanxi.credit import selectors, services
from guanxi.credit.models import CreditInvestigation, CreditLimit, CreditOverride
from guanxi.customers.selectors import customer_get

ID = [id_parameter()]


def _codes(choices: Any) -> str:
    """The codes of a choice set for the documentation (enum names collide across apps)."""
    return "；".join(f"{value} {label}" for value, label in choices.choices)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer_class(data=request.query_params)
    form.is_valid(raise_exception=True)
    return form.validated_data


# --- a customer's credit -----------------------------------------------------------------------
class LimitBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    amount = _money()
    effective_from = serializers.DateTimeField(allow_null=True)


class CustomerCreditSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    level = serializers.CharField(
        allow_null=True, help_text="资信等级代码（credit.levels），未评定为 null"
    )
    level_label = serializers.CharField(help_text="资信等级名称")
    rated_at = serializers.DateTimeField(source="rating.rated_at", allow_null=True)
    rating_explanation = serializers.ListField(
        child=serializers.CharField(), source="rating.reasons", allow_null=True
    )
    rating_due = serializers.BooleanField(help_text="是否到了复评时间")
    limit = _money(help_text="当前生效的信用额度；无批准额度时为 credit.limit_without_approval")
    has_limit = serializers.BooleanField(help_text="是否有已批准的信用额度")
    limit_effective_from = serializers.DateTimeField(
        source="limit_row.effective_from", allow_null=True
    )
    upcoming_limit = LimitBriefSerializer(allow_null=True, help_text="已批准、尚未生效的额度")
    pending_proposal = LimitBriefSerializer(
        source="pending", allow_null=True, help_text="待提交或待审批的额度申请"
    )
    balance = _money(help_text="应收余额 = 出货 − 回款")
    open_orders = _money(help_text="未出货订单金额")
    exposure = _money(help_text="额度占用 = 应收余额（+ 未出货订单，见 credit.orders_in_exposure）")
    available = _money(help_text="可用额度 = 额度 − 占用（可为负）")
    state = serializers.CharField(help_text="over 超额度 · near 达到预警比例 · 空 正常")
    ageing = serializers.DictField(
        child=_money(), source="receivable.ageing", help_text="账龄分段（ledger.ageing_buckets）"
    )
    overdue = _money(source="receivable.overdue", help_text="逾期应收")
    on_time_share = serializers.DecimalField(
        max_digits=5, decimal_places=4, source="timeliness.on_time_share", allow_null=True
    )
    avg_days_late = serializers.DecimalField(
        max_digits=8, decimal_places=1, source="timeliness.avg_days_late"
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["level"] = instance.level or None
        return data


class CustomerCreditViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """GET /api/customers/{id}/credit/ — the credit picture of one customer in scope."""

    serializer_class = CustomerCreditSerializer
    action_permissions = {"retrieve": ["credit.view_creditlimit"]}

    @extend_schema(
        summary="客户资信：等级、额度、占用、余额、账龄",
        parameters=ID,
        responses={200: CustomerCreditSerializer, **error_responses(401, 403, 404)},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        customer = customer_get(actor=request.user, pk=id)
        self.check_object_permissions(request, customer)
        overview = selectors.credit_overview(customer=customer)
        return Response(CustomerCreditSerializer(overview).data)


# --- limits ------------------------------------------------------------------------------------
class CreditLimitSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(CreditLimit.Status))
    amount = _money(read_only=True)
    suggested_amount = _money(read_only=True, allow_null=True, help_text="公式建议额度")
    suggestion = serializers.JSONField(read_only=True, help_text="建议额度的计算过程")
    reason = serializers.CharField(read_only=True)
    round = serializers.CharField(read_only=True, allow_null=True)
    proposed_by = serializers.CharField(
        source="proposed_by.display_name", read_only=True, allow_null=True
    )
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="审批期限")
    overdue = serializers.SerializerMethodField(help_text="待审批且已超过审批期限")
    balance_at_proposal = _money(read_only=True, allow_null=True)
    confirmed_below_balance = serializers.BooleanField(read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.display_name", read_only=True, allow_null=True
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    effective = serializers.CharField(read_only=True)
    effective_from = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_overdue(self, row: CreditLimit) -> bool:
        return selectors.is_overdue(row, at=self.context.get("now"))


class CreditLimitCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    amount = _money(min_value=0, help_text="申请的信用额度（元）")
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text="理由；与公式建议额度不同时必填",
    )  # fmt: skip
    confirm_below_balance = serializers.BooleanField(
        default=False, help_text="额度低于当前应收余额时须确认"
    )


class CreditLimitApproveSerializer(serializers.Serializer):
    effective = serializers.ChoiceField(
        choices=CreditLimit.Effective.choices,
        default=CreditLimit.Effective.NEXT_QUARTER,
        help_text="now 立即生效；next_quarter 下季度第一天生效",
    )
    confirm_below_balance = serializers.BooleanField(
        default=False, help_text="额度低于当前应收余额时须确认"
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text="审批意见")


class LimitFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    status = serializers.ChoiceField(choices=CreditLimit.Status.choices, required=False)
    overdue = serializers.BooleanField(required=False, help_text="只看逾期未审批的")


@extend_schema_view(
    list=extend_schema(
        summary="信用额度申请与审批",
        parameters=[LimitFilterSerializer],
        responses={200: CreditLimitSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="提交信用额度申请（总经理审批）",
        request=CreditLimitCreateSerializer,
        responses={201: CreditLimitSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    retrieve=extend_schema(
        summary="信用额度申请详情",
        parameters=ID,
        responses={200: CreditLimitSerializer, **error_responses(401, 403, 404)},
    ),
    approve=extend_schema(
        summary="批准信用额度（仅总经理）",
        parameters=ID,
        request=CreditLimitApproveSerializer,
        responses={200: CreditLimitSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    reject=extend_schema(
        summary="驳回信用额度申请（仅总经理）",
        parameters=ID,
        request=NoteSerializer,
        responses={200: CreditLimitSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class CreditLimitViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = CreditLimitSerializer
    action_permissions = {
        "list": ["credit.view_creditlimit"],
        "create": ["credit.add_creditlimit"],
        "retrieve": ["credit.view_creditlimit"],
        "approve": ["credit.approve_creditlimit"],
        "reject": ["credit.approve_creditlimit"],
    }

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    object_getter = staticmethod(selectors.credit_limit_get)

    def _render(self, pk: int, **kwargs: Any) -> Response:
        row = selectors.credit_limit_get(actor=self.request.user, pk=pk)
        return Response(self.get_serializer(row).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(LimitFilterSerializer, request)
        rows = selectors.credit_limit_list(
            actor=request.user,
            customer_id=params.get("customer"),
            status=params.get("status", ""),
            overdue=params.get("overdue", False),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = CreditLimitCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        row = services.credit_limit_propose(
            actor=request.user, customer_id=data.pop("customer"), **data
        )
        return self._render(row.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, id: str) -> Response:
        row = self.get_object()
        form = CreditLimitApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.credit_limit_approve(actor=request.user, limit_id=row.pk, **form.validated_data)
        return self._render(row.pk)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, id: str) -> Response:
        row = self.get_object()
        form = NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.credit_limit_reject(actor=request.user, limit_id=row.pk, **form.validated_data)
        return self._render(row.pk)


# --- overrides ---------------------------------------------------------------------------------
class CreditOverrideSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    amount = _money(read_only=True, help_text="可出货金额上限")
    reason = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(CreditOverride.Status))
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True)
    requested_at = serializers.DateTimeField(read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.display_name", read_only=True, allow_null=True
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    shipment = serializers.IntegerField(
        source="shipment_id", read_only=True, allow_null=True, help_text="使用它的出货ID"
    )
    usable = serializers.BooleanField(read_only=True, help_text="已批准且尚未使用")


class CreditOverrideCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    amount = _money(help_text="要出货的金额（元）")
    reason = serializers.CharField(max_length=300, help_text="特批理由")


class OverrideDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="审批意见"
    )


class OverrideFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    status = serializers.ChoiceField(choices=CreditOverride.Status.choices, required=False)
    usable = serializers.BooleanField(required=False, help_text="只看已批准且未使用的")


@extend_schema_view(
    list=extend_schema(
        summary="超额度出货特批",
        parameters=[OverrideFilterSerializer],
        responses={200: CreditOverrideSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="申请超额度出货特批（一次性）",
        request=CreditOverrideCreateSerializer,
        responses={201: CreditOverrideSerializer, **error_responses(400, 401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="特批详情",
        parameters=ID,
        responses={200: CreditOverrideSerializer, **error_responses(401, 403, 404)},
    ),
    **decision_schemas(
        approve="批准特批（信用控制：财务、总经理；不能审批自己的申请）",
        reject="驳回特批",
        request=OverrideDecisionSerializer,
        response=CreditOverrideSerializer,
    ),
)
class CreditOverrideViewSet(ApiViewSetMixin, DecisionActionsMixin, viewsets.GenericViewSet):
    serializer_class = CreditOverrideSerializer
    action_permissions = {
        "list": ["credit.view_creditoverride"],
        "create": ["credit.add_creditoverride"],
        "retrieve": ["credit.view_creditoverride"],
        "approve": ["credit.approve_creditoverride"],
        "reject": ["credit.approve_creditoverride"],
    }

    object_getter = staticmethod(selectors.override_get)

    def _render(self, pk: int, **kwargs: Any) -> Response:
        row = selectors.override_get(actor=self.request.user, pk=pk)
        return Response(CreditOverrideSerializer(row).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(OverrideFilterSerializer, request)
        rows = selectors.override_list(
            actor=request.user,
            customer_id=params.get("customer"),
            status=params.get("status", ""),
            usable=params.get("usable", False),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CreditOverrideSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = CreditOverrideCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        row = services.credit_override_request(
            actor=request.user, customer_id=data.pop("customer"), **data
        )
        return self._render(row.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    decision_serializer = OverrideDecisionSerializer

    def decide(self, *, actor: Any, pk: int, approve: bool, **data: Any) -> Any:
        return services.credit_override_decide(actor=actor, override_id=pk, approve=approve, **data)


# --- ratings -----------------------------------------------------------------------------------
class CreditRatingSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    level = serializers.CharField(read_only=True)
    inputs = serializers.JSONField(read_only=True, help_text="评定依据")
    explanation = serializers.ListField(
        child=serializers.CharField(), source="reasons", read_only=True
    )
    policy_version = serializers.IntegerField(read_only=True)
    rated_at = serializers.DateTimeField(read_only=True)
    rated_by = serializers.CharField(
        source="rated_by.display_name", read_only=True, allow_null=True
    )


class CustomerRefSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")


class RatingFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")


@extend_schema_view(
    list=extend_schema(
        summary="资信评定记录",
        parameters=[RatingFilterSerializer],
        responses={200: CreditRatingSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="立即评定客户资信等级",
        request=CustomerRefSerializer,
        responses={201: CreditRatingSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class CreditRatingViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = CreditRatingSerializer
    action_permissions = {
        "list": ["credit.view_creditrating"],
        "create": ["credit.add_creditrating"],
    }

    def list(self, request: Request) -> Response:
        params = _query(RatingFilterSerializer, request)
        rows = selectors.rating_list(actor=request.user, customer_id=params.get("customer"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CreditRatingSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = CustomerRefSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        row = services.credit_rate(actor=request.user, customer_id=form.validated_data["customer"])
        return Response(CreditRatingSerializer(row).data, status=status.HTTP_201_CREATED)


# --- rounds ------------------------------------------------------------------------------------
class CreditRoundSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    year = serializers.IntegerField(read_only=True)
    quarter = serializers.IntegerField(read_only=True, help_text="准备的季度")
    opened_at = serializers.DateTimeField(read_only=True)
    opened_by = serializers.CharField(
        source="opened_by.display_name", read_only=True, allow_null=True
    )
    proposals = serializers.IntegerField(read_only=True, help_text="生成的额度建议数")
    is_open = serializers.SerializerMethodField(help_text="所准备的季度开始前为开启状态")

    def get_is_open(self, row: Any) -> bool:
        return selectors.round_is_open(row)


@extend_schema_view(
    list=extend_schema(
        summary="季度额度申报轮次",
        responses={200: CreditRoundSerializer, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="开启下季度额度申报（仅在每季度最后一个月）",
        request=None,
        responses={201: CreditRoundSerializer, **error_responses(401, 403, 409)},
    ),
)
class CreditRoundViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = CreditRoundSerializer
    action_permissions = {
        "list": ["credit.view_creditround"],
        "create": ["credit.open_creditround"],
    }

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.round_list())
        return self.get_paginated_response(CreditRoundSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        row = services.credit_round_open(actor=request.user)
        return Response(CreditRoundSerializer(row).data, status=status.HTTP_201_CREATED)


# --- warnings and investigations ---------------------------------------------------------------
class WarningSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    owner = serializers.CharField(source="customer.owner.display_name")
    limit = _money()
    has_limit = serializers.BooleanField()
    exposure = _money()
    balance = _money()
    share = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    state = serializers.CharField(help_text="over 超额度 · near 达到预警比例")
    investigation_open = serializers.BooleanField()


class WarningFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[("over", "超额度"), ("near", "接近额度")], required=False
    )


@extend_schema_view(
    list=extend_schema(
        summary="超额度与接近额度的客户",
        parameters=[WarningFilterSerializer],
        responses={200: WarningSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class CreditWarningViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = WarningSerializer
    action_permissions = {"list": ["credit.view_creditlimit"]}

    def list(self, request: Request) -> Response:
        params = _query(WarningFilterSerializer, request)
        rows = selectors.credit_warnings(actor=request.user, state=params.get("state", ""))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WarningSerializer(page, many=True).data)


class InvestigationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.CharField(source="customer.owner.display_name", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=_codes(CreditInvestigation.Kind))
    status = serializers.CharField(read_only=True, help_text=_codes(CreditInvestigation.Status))
    opened_at = serializers.DateTimeField(read_only=True)
    limit = _money(read_only=True)
    exposure = _money(read_only=True)
    findings = serializers.CharField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class FindingsSerializer(serializers.Serializer):
    findings = serializers.CharField(max_length=2000, help_text="调查结论")


class InvestigationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CreditInvestigation.Status.choices, required=False)
    mine = serializers.BooleanField(required=False, help_text="只看我负责的客户")


@extend_schema_view(
    list=extend_schema(
        summary="资信调查任务",
        parameters=[InvestigationFilterSerializer],
        responses={200: InvestigationSerializer, **error_responses(400, 401, 403, 404)},
    ),
    close=extend_schema(
        summary="资信调查结案",
        parameters=ID,
        request=FindingsSerializer,
        responses={200: InvestigationSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class InvestigationViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = InvestigationSerializer
    action_permissions = {
        "list": ["credit.view_creditinvestigation"],
        "close": ["credit.change_creditinvestigation"],
    }

    object_getter = staticmethod(selectors.investigation_get)

    def list(self, request: Request) -> Response:
        params = _query(InvestigationFilterSerializer, request)
        rows = selectors.investigation_list(
            actor=request.user, status=params.get("status", ""), mine=params.get("mine", False)
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(InvestigationSerializer(page, many=True).data)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, id: str) -> Response:
        row = self.get_object()
        form = FindingsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.investigation_close(
            actor=request.user, investigation_id=row.pk, **form.validated_data
        )
        row = selectors.investigation_get(actor=request.user, pk=row.pk)
        return Response(InvestigationSerializer(row).data)
