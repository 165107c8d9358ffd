"""REST endpoints of the ledger.

    /api/shipments/ [{id}/] [{id}/reverse/]      出货: list · record · detail · reverse
    /api/payments/ [{id}/] [{id}/reverse/]       回款: list · record · detail · reverse
    /api/orders/ [{id}/] [{id}/cancel/]          open sales orders
    /api/price-coefficients/ [{id}/approve|reject/]
    /api/payment-terms/                          set a customer's payment terms

Each action parses input, calls one service or selector and renders. Records are fetched
through scope first (404 when missing or out of scope), then the action permission is
checked (403), then the input (400). Amounts are decimal strings.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
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
from guanxi.ledger import selectors, services
from guanxi.ledger.models import Order, Payment, PriceCoefficient, Shipment

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


class EntryFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    since = serializers.DateField(required=False, help_text="起始日期（含）")
    until = serializers.DateField(required=False, help_text="截止日期（含）")


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="冲销原因")
    date = serializers.DateField(required=False, help_text="冲销日期，默认今天")


def _with_reversal(rows: QuerySet) -> QuerySet:
    model = rows.model
    return rows.annotate(
        reversal_id=Subquery(model.objects.filter(reversal_of=OuterRef("pk")).values("pk")[:1])
    )


# --- shipments ---------------------------------------------------------------------------------
class ShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    date = serializers.DateField(read_only=True)
    amount = _money(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    cost = _money(read_only=True)
    profit = _money(read_only=True, help_text="毛利 = 金额 − 成本")
    order_reference = serializers.CharField(read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    due_date = serializers.DateField(read_only=True, help_text="应收日期 = 出货日期 + 账期")
    payment_terms_days = serializers.IntegerField(read_only=True)
    price_coefficient = serializers.DecimalField(
        max_digits=6, decimal_places=4, read_only=True, allow_null=True
    )
    note = serializers.CharField(read_only=True)
    reversal_of = serializers.IntegerField(
        source="reversal_of_id", read_only=True, allow_null=True, help_text="冲销的出货ID"
    )
    reversed_by = serializers.IntegerField(
        source="reversal_id", read_only=True, allow_null=True, help_text="冲销它的记录ID"
    )
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ShipmentCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    date = serializers.DateField(help_text="出货日期（可补录过去的日期）")
    amount = _money(help_text='金额（元），如 "12800.00"')
    quantity = serializers.IntegerField(
        min_value=0, max_value=1_000_000_000, default=0, help_text="数量（件/台）"
    )
    cost = _money(required=False, default="0.00", help_text="成本（元），毛利 = 金额 − 成本")
    order_reference = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    order = IdField(required=False, allow_null=True, help_text="出货所属的销售订单ID")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    paid_now = serializers.BooleanField(
        default=False, help_text="现款出货：同时登记等额回款（无额度客户只能现款出货）"
    )
    payment_method = serializers.CharField(
        default=Payment.Method.CASH,
        max_length=20,
        help_text="现款的回款方式：" + _codes(Payment.Method),
    )
    payment_reference = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    override = IdField(
        required=False, allow_null=True, help_text="已批准的超额度出货特批ID（只能使用一次）"
    )


def _entry_rows(rows: QuerySet) -> QuerySet:
    return _with_reversal(rows)


def _entry_schemas(
    summaries: tuple[str, str, str, str],
    serializer: Any,
    create_serializer: Any,
    *,
    create_conflict: bool,
) -> dict[str, Any]:
    """The documentation of an _EntryViewSet: list, create, retrieve and reverse."""
    listed, created, shown, reversed_ = summaries
    create_errors = (400, 401, 403, 404, 409) if create_conflict else (400, 401, 403, 404)
    return {
        "list": extend_schema(
            summary=listed,
            parameters=[EntryFilterSerializer],
            responses={200: serializer, **error_responses(400, 401, 403, 404)},
        ),
        "create": extend_schema(
            summary=created,
            request=create_serializer,
            responses={201: serializer, **error_responses(*create_errors)},
        ),
        "retrieve": extend_schema(
            summary=shown,
            parameters=ID,
            responses={200: serializer, **error_responses(401, 403, 404)},
        ),
        "reverse": extend_schema(
            summary=reversed_,
            parameters=ID,
            request=ReverseSerializer,
            responses={201: serializer, **error_responses(400, 401, 403, 404, 409)},
        ),
    }


def _entry_permissions(model: str) -> dict[str, list[str]]:
    return {
        "list": [f"ledger.view_{model}"],
        "create": [f"ledger.add_{model}"],
        "retrieve": [f"ledger.view_{model}"],
        "reverse": ["ledger.reverse_entry"],
    }


class _EntryViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Shipments and payments alike: list, record, show and reverse ledger entries of the
    customers in the requester's data scope. Subclasses name their serializers, selectors
    and the two services (`record`, `reverse_entry`)."""

    create_serializer: type[serializers.Serializer]
    entry_get: Any
    entry_list: Any

    def record(self, *, actor: Any, customer_id: int, **data: Any) -> Any:
        raise NotImplementedError

    def reverse_entry(self, *, actor: Any, pk: int, **data: Any) -> Any:
        raise NotImplementedError

    def get_object(self) -> Any:
        row = self.entry_get(actor=self.request.user, pk=self.kwargs["id"])
        self.check_object_permissions(self.request, row)
        return row

    def _render(self, pk: int, **kwargs: Any) -> Response:
        rows = _entry_rows(self.entry_list(actor=self.request.user)).filter(pk=pk)
        return Response(self.get_serializer_class()(rows.get()).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(EntryFilterSerializer, request)
        rows = self.entry_list(
            actor=request.user,
            customer_id=params.get("customer"),
            since=params.get("since"),
            until=params.get("until"),
        )
        page = self.paginate_queryset(_entry_rows(rows))
        return self.get_paginated_response(self.get_serializer_class()(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = self.create_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        entry = self.record(actor=request.user, customer_id=data.pop("customer"), **data)
        return self._render(entry.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, id: str) -> Response:
        row = self.get_object()
        form = ReverseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        reversal = self.reverse_entry(actor=request.user, pk=row.pk, **form.validated_data)
        return self._render(reversal.pk, status=status.HTTP_201_CREATED)


@extend_schema_view(
    **_entry_schemas(
        (
            "出货列表",
            "登记出货（超出信用额度时拒绝，409 credit_limit_exceeded）",
            "出货详情",
            "冲销出货",
        ),
        ShipmentSerializer,
        ShipmentCreateSerializer,
        create_conflict=True,
    )
)
class ShipmentViewSet(_EntryViewSet):
    """Shipments (出货) of the customers in the requester's data scope."""

    serializer_class = ShipmentSerializer
    create_serializer = ShipmentCreateSerializer
    entry_get = staticmethod(selectors.shipment_get)
    entry_list = staticmethod(selectors.shipment_list)
    action_permissions = _entry_permissions("shipment")

    def record(self, *, actor: Any, customer_id: int, **data: Any) -> Shipment:
        return services.shipment_record(
            actor=actor,
            customer_id=customer_id,
            order_id=data.pop("order", None),
            override_id=data.pop("override", None),
            **data,
        )

    def reverse_entry(self, *, actor: Any, pk: int, **data: Any) -> Shipment:
        return services.shipment_reverse(actor=actor, shipment_id=pk, **data)


# --- payments ----------------------------------------------------------------------------------
class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    date = serializers.DateField(read_only=True)
    amount = _money(read_only=True)
    method = serializers.CharField(read_only=True, help_text=_codes(Payment.Method))
    method_label = serializers.CharField(source="get_method_display", read_only=True)
    reference = serializers.CharField(read_only=True)
    shipment = serializers.IntegerField(
        source="shipment_id", read_only=True, allow_null=True, help_text="现款出货的出货ID"
    )
    note = serializers.CharField(read_only=True)
    reversal_of = serializers.IntegerField(source="reversal_of_id", read_only=True, allow_null=True)
    reversed_by = serializers.IntegerField(source="reversal_id", read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class PaymentCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    date = serializers.DateField(help_text="回款日期")
    amount = _money(help_text="金额（元）")
    method = serializers.ChoiceField(choices=Payment.Method.choices, help_text="回款方式")
    reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema_view(
    **_entry_schemas(
        ("回款列表", "登记回款", "回款详情", "冲销回款"),
        PaymentSerializer,
        PaymentCreateSerializer,
        create_conflict=False,
    )
)
class PaymentViewSet(_EntryViewSet):
    """Payments (回款) of the customers in the requester's data scope."""

    serializer_class = PaymentSerializer
    create_serializer = PaymentCreateSerializer
    entry_get = staticmethod(selectors.payment_get)
    entry_list = staticmethod(selectors.payment_list)
    action_permissions = _entry_permissions("payment")

    def record(self, *, actor: Any, customer_id: int, **data: Any) -> Payment:
        return services.payment_record(actor=actor, customer_id=customer_id, **data)

    def reverse_entry(self, *, actor: Any, pk: int, **data: Any) -> Payment:
        return services.payment_reverse(actor=actor, payment_id=pk, **data)


# --- orders ------------------------------------------------------------------------------------
class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    date = serializers.DateField(read_only=True)
    reference = serializers.CharField(read_only=True)
    amount = _money(read_only=True)
    shipped_amount = _money(read_only=True)
    remaining = _money(read_only=True, help_text="未出货金额（计入额度占用）")
    status = serializers.CharField(read_only=True, help_text=_codes(Order.Status))
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class OrderCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    date = serializers.DateField(help_text="订单日期")
    amount = _money(help_text="订单金额（元）")
    reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="原因")


class OrderFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    open = serializers.BooleanField(required=False, help_text="只看未完成的订单")


@extend_schema_view(
    list=extend_schema(
        summary="销售订单列表",
        parameters=[OrderFilterSerializer],
        responses={200: OrderSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="登记销售订单（未出货部分计入额度占用）",
        request=OrderCreateSerializer,
        responses={201: OrderSerializer, **error_responses(400, 401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="销售订单详情",
        parameters=ID,
        responses={200: OrderSerializer, **error_responses(401, 403, 404)},
    ),
    cancel=extend_schema(
        summary="取消销售订单",
        parameters=ID,
        request=ReasonSerializer,
        responses={200: OrderSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class OrderViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    action_permissions = {
        "list": ["ledger.view_order"],
        "create": ["ledger.add_order"],
        "retrieve": ["ledger.view_order"],
        "cancel": ["ledger.change_order"],
    }

    object_getter = staticmethod(selectors.order_get)

    def _render(self, pk: int, **kwargs: Any) -> Response:
        return Response(
            OrderSerializer(selectors.order_get(actor=self.request.user, pk=pk)).data, **kwargs
        )

    def list(self, request: Request) -> Response:
        params = _query(OrderFilterSerializer, request)
        rows = selectors.order_list(
            actor=request.user,
            customer_id=params.get("customer"),
            open_only=params.get("open", False),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        order = services.order_record(actor=request.user, customer_id=data.pop("customer"), **data)
        return self._render(order.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        row = self.get_object()
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.order_cancel(actor=request.user, order_id=row.pk, **form.validated_data)
        return self._render(row.pk)


# --- price coefficients ------------------------------------------------------------------------
class PriceCoefficientSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    coefficient = serializers.DecimalField(max_digits=6, decimal_places=4, read_only=True)
    effective_from = serializers.DateField(read_only=True)
    reason = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(PriceCoefficient.Status))
    proposed_by = serializers.CharField(source="proposed_by.display_name", read_only=True)
    proposed_at = serializers.DateTimeField(read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.display_name", read_only=True, allow_null=True
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)


class PriceCoefficientCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    coefficient = serializers.DecimalField(max_digits=6, decimal_places=4, help_text="如 0.9500")
    effective_from = serializers.DateField(help_text="生效日期")
    reason = serializers.CharField(max_length=200, help_text="申请理由")


class CoefficientDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="审批意见"
    )


class CoefficientFilterSerializer(serializers.Serializer):
    customer = IdField(required=False, help_text="客户ID")
    status = serializers.ChoiceField(choices=PriceCoefficient.Status.choices, required=False)


@extend_schema_view(
    list=extend_schema(
        summary="单价系数申请列表",
        parameters=[CoefficientFilterSerializer],
        responses={200: PriceCoefficientSerializer, **error_responses(400, 401, 403, 404)},
    ),
    create=extend_schema(
        summary="申请单价系数",
        request=PriceCoefficientCreateSerializer,
        responses={201: PriceCoefficientSerializer, **error_responses(400, 401, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="单价系数详情",
        parameters=ID,
        responses={200: PriceCoefficientSerializer, **error_responses(401, 403, 404)},
    ),
    **decision_schemas(
        approve="批准单价系数（总经理或销售总监）",
        reject="驳回单价系数",
        request=CoefficientDecisionSerializer,
        response=PriceCoefficientSerializer,
    ),
)
class PriceCoefficientViewSet(ApiViewSetMixin, DecisionActionsMixin, viewsets.GenericViewSet):
    serializer_class = PriceCoefficientSerializer
    action_permissions = {
        "list": ["ledger.view_pricecoefficient"],
        "create": ["ledger.add_pricecoefficient"],
        "retrieve": ["ledger.view_pricecoefficient"],
        "approve": ["ledger.approve_pricecoefficient"],
        "reject": ["ledger.approve_pricecoefficient"],
    }

    object_getter = staticmethod(selectors.price_coefficient_get)

    def _render(self, pk: int, **kwargs: Any) -> Response:
        row = selectors.price_coefficient_get(actor=self.request.user, pk=pk)
        return Response(PriceCoefficientSerializer(row).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(CoefficientFilterSerializer, request)
        rows = selectors.price_coefficient_list(
            actor=request.user,
            customer_id=params.get("customer"),
            status=params.get("status", ""),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(PriceCoefficientSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = PriceCoefficientCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        row = services.price_coefficient_propose(
            actor=request.user, customer_id=data.pop("customer"), **data
        )
        return self._render(row.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    decision_serializer = CoefficientDecisionSerializer

    def decide(self, *, actor: Any, pk: int, approve: bool, **data: Any) -> Any:
        return services.price_coefficient_decide(
            actor=actor, coefficient_id=pk, approve=approve, **data
        )


# --- payment terms -----------------------------------------------------------------------------
class PaymentTermsSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    days = serializers.IntegerField(min_value=0, max_value=365, help_text="账期（天）")


@extend_schema_view(
    create=extend_schema(
        summary="设置客户账期（适用于此后的出货）",
        request=PaymentTermsSerializer,
        responses={200: PaymentTermsSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class PaymentTermsViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = PaymentTermsSerializer
    action_permissions = {"create": ["ledger.change_customerterms"]}

    def create(self, request: Request) -> Response:
        form = PaymentTermsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        terms = services.payment_terms_set(
            actor=request.user,
            customer_id=form.validated_data["customer"],
            days=form.validated_data["days"],
        )
        return Response({"customer": terms.customer_id, "days": terms.days})
