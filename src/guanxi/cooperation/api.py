"""REST endpoints of the cooperation status (合作状态).

    /api/customers/{id}/status/                 GET current status + history · POST a change
    /api/special-reviews/ [{id}/] [{id}/decide/] [{id}/close/]   专题评审
    /api/cooperation/monthly/                    GET my customers this month · POST confirm
    /api/cooperation/monthly/progress/           who has not updated this month, per department
    /api/cooperation/leaderboard/                upgrades counted per owner and period

Each action parses input, calls one service or selector and renders. Records are fetched
through scope first (404 when missing or out of scope), then the action permission is
checked (403), then the input (400); a refused downgrade is a 400
`downgrade_needs_explanation`, an unchanged status a 409 `status_unchanged`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi import policy
from guanxi.cooperation import selectors, services
from guanxi.cooperation.ladder import Ladder, period_label, period_start
from guanxi.cooperation.models import SpecialReview, StatusChange
from guanxi.cooperation.rules import PERIODS
from guanxi.core.api import ApiViewSetMixin, IdField, error_responses, id_parameter
from guanxi.customers.selectors import customer_get

ID = [id_parameter()]
VIEW_CUSTOMER = "customers.view_customer"


def _codes(choices: Any) -> str:
    return "；".join(f"{value} {label}" for value, label in choices.choices)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer_class(data=request.query_params)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _ladder(serializer: serializers.Serializer) -> Ladder:
    """The ladder in force, read once per response (labels and colours)."""
    ladder = serializer.context.get("ladder")
    if ladder is None:
        ladder = serializer.context["ladder"] = selectors.ladder_now()
    return ladder


# --- status of one customer --------------------------------------------------------------------
class StatusChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    from_status = serializers.CharField(read_only=True, help_text="原合作状态代码（空：无）")
    to_status = serializers.CharField(read_only=True, help_text="新合作状态代码")
    to_label = serializers.SerializerMethodField()
    direction = serializers.CharField(read_only=True, help_text=_codes(StatusChange.Direction))
    levels = serializers.IntegerField(read_only=True, help_text="升降的级数")
    reason = serializers.CharField(read_only=True, help_text="原因（降级时为书面解释）")
    plan = serializers.CharField(read_only=True, help_text="后期解决办法/工作计划")
    source = serializers.CharField(read_only=True, help_text=_codes(StatusChange.Source))
    changed_by = serializers.CharField(source="changed_by.display_name", read_only=True)
    changed_at = serializers.DateTimeField(read_only=True)
    special_review = serializers.IntegerField(
        source="special_review_id", read_only=True, allow_null=True, help_text="所属专题评审ID"
    )

    def get_to_label(self, row: StatusChange) -> str:
        return _ladder(self).label(row.to_status)


class CustomerStatusSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="pk", read_only=True)
    status = serializers.CharField(source="cooperation_status", read_only=True)
    label = serializers.SerializerMethodField()
    colour = serializers.SerializerMethodField()
    meaning = serializers.SerializerMethodField(help_text="诠释")
    plan = serializers.SerializerMethodField(help_text="工作计划")
    history = serializers.SerializerMethodField()

    def _step(self, customer: Any) -> Any:
        return _ladder(self).get(customer.cooperation_status)

    def get_label(self, customer: Any) -> str:
        step = self._step(customer)
        return step.label if step else ""

    def get_colour(self, customer: Any) -> str:
        step = self._step(customer)
        return step.colour if step else ""

    def get_meaning(self, customer: Any) -> str:
        step = self._step(customer)
        return step.meaning if step else ""

    def get_plan(self, customer: Any) -> str:
        step = self._step(customer)
        return step.plan if step else ""

    @extend_schema_field(StatusChangeSerializer(many=True))
    def get_history(self, customer: Any) -> list[dict[str, Any]]:
        rows = selectors.status_change_list(
            actor=self.context["request"].user, customer_id=customer.pk
        )
        return StatusChangeSerializer(rows, many=True, context=self.context).data


class StatusChangeResultSerializer(CustomerStatusSerializer):
    change = StatusChangeSerializer(read_only=True)
    special_review_opened = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="本次降级开启的专题评审ID"
    )
    upgrade_counted = serializers.BooleanField(read_only=True, help_text="本次升级计入排行")


class CustomerStatusInputSerializer(serializers.Serializer):
    status = serializers.CharField(
        max_length=20,
        help_text="合作状态代码（cooperation.ladder，默认 green 合作良好；blue 维持良好；"
        "yellow 问题客户；white 没有合作；black 拒绝合作）",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="原因；降级必填"
    )
    plan = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="后期解决办法/跟进计划；降级必填",
    )


@extend_schema_view(
    retrieve=extend_schema(
        summary="客户的合作状态与变更历史",
        parameters=ID,
        responses={200: CustomerStatusSerializer, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="变更合作状态（降级须填写原因和跟进计划）",
        parameters=ID,
        request=CustomerStatusInputSerializer,
        responses={201: StatusChangeResultSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class CustomerStatusViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """The cooperation status of one customer in the requester's data scope."""

    serializer_class = CustomerStatusSerializer
    # The change itself is checked by the service (scope 404, permission and change scope
    # 403, input 400), in that order.
    action_permissions = {"retrieve": [VIEW_CUSTOMER], "create": []}

    def _customer(self) -> Any:
        customer = customer_get(actor=self.request.user, pk=self.kwargs["id"])
        self.check_object_permissions(self.request, customer)
        return customer

    def retrieve(self, request: Request, id: str) -> Response:
        customer = self._customer()
        return Response(CustomerStatusSerializer(customer, context={"request": request}).data)

    def create(self, request: Request, id: str) -> Response:
        customer_get(actor=request.user, pk=id)  # 404 before 400
        form = CustomerStatusInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.status_change(actor=request.user, customer_id=id, **form.validated_data)
        customer = customer_get(actor=request.user, pk=id)
        customer.change = result.change
        customer.special_review_opened = result.review_opened.pk if result.review_opened else None
        customer.upgrade_counted = result.credit is not None
        data = StatusChangeResultSerializer(customer, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


# --- special reviews ---------------------------------------------------------------------------
class SpecialReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, help_text="客户ID")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    department = serializers.CharField(source="customer.department.name", read_only=True)
    owner = serializers.IntegerField(source="customer.owner_id", read_only=True)
    owner_name = serializers.CharField(source="customer.owner.display_name", read_only=True)
    trigger = serializers.CharField(read_only=True, help_text=_codes(SpecialReview.Trigger))
    trigger_label = serializers.CharField(source="get_trigger_display", read_only=True)
    from_status = serializers.CharField(read_only=True, help_text="观察期内最好的状态")
    to_status = serializers.CharField(read_only=True, help_text="降至")
    levels = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(SpecialReview.Status))
    opened_at = serializers.DateTimeField(read_only=True)
    meeting_on = serializers.DateField(read_only=True, allow_null=True)
    outcome = serializers.CharField(read_only=True)
    new_owner = serializers.IntegerField(source="new_owner_id", read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class SpecialReviewFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*SpecialReview.Status.values, "all"],
        required=False,
        default=SpecialReview.Status.OPEN,
        help_text="open 待评审（默认）；closed 已结束；all 全部",
    )


class SpecialReviewDecideSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=2000, help_text="专题会议结论")
    meeting_on = serializers.DateField(required=False, allow_null=True, help_text="会议日期")
    new_owner = IdField(required=False, allow_null=True, help_text="更换后的负责人（用户ID）")
    close = serializers.BooleanField(default=False, help_text="同时结束评审")


@extend_schema_view(
    list=extend_schema(
        summary="专题评审列表（默认只列待评审的）",
        parameters=[SpecialReviewFilterSerializer],
        responses={200: SpecialReviewSerializer, **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="专题评审详情",
        parameters=ID,
        responses={200: SpecialReviewSerializer, **error_responses(401, 403, 404)},
    ),
    decide=extend_schema(
        summary="记录专题会议结论（可更换负责人、可同时结束）",
        parameters=ID,
        request=SpecialReviewDecideSerializer,
        responses={200: SpecialReviewSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    close=extend_schema(
        summary="结束专题评审（须已记录结论）",
        parameters=ID,
        request=None,
        responses={200: SpecialReviewSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class SpecialReviewViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Special reviews (专题评审) of the customers in the requester's data scope."""

    serializer_class = SpecialReviewSerializer
    action_permissions = {
        "list": ["cooperation.view_specialreview"],
        "retrieve": ["cooperation.view_specialreview"],
        "decide": ["cooperation.decide_specialreview"],
        "close": ["cooperation.decide_specialreview"],
    }

    object_getter = staticmethod(selectors.special_review_get)

    def _render(self, pk: int) -> Response:
        review = selectors.special_review_get(actor=self.request.user, pk=pk)
        return Response(SpecialReviewSerializer(review).data)

    def list(self, request: Request) -> Response:
        wanted = _query(SpecialReviewFilterSerializer, request)["status"]
        rows = selectors.special_review_list(
            actor=request.user, status=None if wanted == "all" else wanted
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SpecialReviewSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(SpecialReviewSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def decide(self, request: Request, id: str) -> Response:
        review = self.get_object()
        form = SpecialReviewDecideSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.special_review_decide(
            actor=request.user, review_id=review.pk, **form.validated_data
        )
        return self._render(review.pk)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, id: str) -> Response:
        review = self.get_object()
        services.special_review_close(actor=request.user, review_id=review.pk)
        return self._render(review.pk)


# --- the monthly update ------------------------------------------------------------------------
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(text: str | None) -> dt.date:
    if not text:
        return selectors.current_month()
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise serializers.ValidationError({"month": ["请按 YYYY-MM 填写月份，如 2025-06。"]})
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


class CooperationMonthFilterSerializer(serializers.Serializer):
    month = serializers.CharField(required=False, help_text="月份 YYYY-MM，默认本月")


class CooperationMonthlyRowSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="pk", read_only=True)
    customer_name = serializers.CharField(source="name", read_only=True)
    status = serializers.CharField(source="cooperation_status", read_only=True)
    confirmed_status = serializers.CharField(
        read_only=True, allow_null=True, help_text="本月已确认的状态（null：尚未确认）"
    )
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class CooperationMonthlySerializer(serializers.Serializer):
    month = serializers.CharField()
    due_on = serializers.DateField(help_text="截止日（cooperation.monthly_update_due_day）")
    overdue = serializers.BooleanField()
    customers = CooperationMonthlyRowSerializer(many=True)


class CooperationMonthlyEntrySerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID（本人负责的客户）")
    status = serializers.CharField(max_length=20, help_text="本月的合作状态代码（未变化也要确认）")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    plan = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CooperationMonthlyInputSerializer(serializers.Serializer):
    entries = CooperationMonthlyEntrySerializer(many=True, allow_empty=False)


class CooperationMonthlyResultSerializer(serializers.Serializer):
    month = serializers.CharField()
    confirmed = serializers.IntegerField()
    changes = serializers.ListField(child=serializers.IntegerField(), help_text="状态变更ID")
    special_reviews_opened = serializers.ListField(child=serializers.IntegerField())


class CooperationOwnerProgressSerializer(serializers.Serializer):
    owner = serializers.IntegerField(source="owner_id")
    name = serializers.CharField()
    total = serializers.IntegerField(help_text="负责的客户数")
    done = serializers.IntegerField(help_text="本月已确认")
    pending = serializers.IntegerField(help_text="本月未确认")


class CooperationDepartmentProgressSerializer(serializers.Serializer):
    department = serializers.IntegerField(source="department_id", allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    missing = CooperationOwnerProgressSerializer(many=True, help_text="本月还没有完成更新的负责人")


class CooperationProgressSerializer(serializers.Serializer):
    month = serializers.CharField()
    due_on = serializers.DateField()
    overdue = serializers.BooleanField()
    departments = CooperationDepartmentProgressSerializer(many=True)


class UpgradeLeaderboardFilterSerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=list(PERIODS), required=False, help_text="month / quarter / year，默认按策略"
    )
    date = serializers.DateField(required=False, help_text="周期内的任一天，默认今天")


class UpgradeLeaderRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    owner = serializers.IntegerField(source="owner_id")
    name = serializers.CharField()
    department = serializers.CharField()
    upgrades = serializers.IntegerField(help_text="计入的升级次数（每客户每周期一次）")


class UpgradeLeaderboardSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    label = serializers.CharField()
    rows = UpgradeLeaderRowSerializer(many=True)


def _due(month: dt.date) -> tuple[dt.date, bool]:
    """The month's due day and whether it has passed."""
    due_on = selectors.monthly_due_date(month)
    return due_on, timezone.localdate() > due_on


@extend_schema_view(
    progress=extend_schema(
        summary="各部门本月未完成合作状态更新的负责人",
        parameters=[CooperationMonthFilterSerializer],
        responses={200: CooperationProgressSerializer, **error_responses(400, 401, 403)},
    ),
    leaderboard=extend_schema(
        summary="合作状态升级排行（每个客户每周期计一次）",
        parameters=[UpgradeLeaderboardFilterSerializer],
        responses={200: UpgradeLeaderboardSerializer, **error_responses(400, 401, 403)},
    ),
)
class CooperationViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """The monthly update, its progress per department and the upgrade leaderboard."""

    serializer_class = CooperationMonthlySerializer
    action_permissions = {
        "monthly": ["cooperation.add_monthlyupdate"],
        "monthly_submit": ["cooperation.add_monthlyupdate"],
        "progress": ["cooperation.view_update_progress"],
        "leaderboard": ["cooperation.view_update_progress"],
    }

    @extend_schema(
        summary="我负责的客户本月的合作状态与确认情况",
        parameters=[CooperationMonthFilterSerializer],
        responses={200: CooperationMonthlySerializer, **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["get"])
    def monthly(self, request: Request) -> Response:
        month = _month(_query(CooperationMonthFilterSerializer, request).get("month"))
        due_on, overdue = _due(month)
        rows = selectors.monthly_rows(actor=request.user, month=month)
        data = {"month": f"{month:%Y-%m}", "due_on": due_on, "overdue": overdue, "customers": rows}
        return Response(CooperationMonthlySerializer(data).data)

    @extend_schema(
        summary="提交本月的合作状态更新（未变化也要确认；全部成功或全部不保存）",
        request=CooperationMonthlyInputSerializer,
        responses={201: CooperationMonthlyResultSerializer, **error_responses(400, 401, 403)},
    )
    @monthly.mapping.post
    def monthly_submit(self, request: Request) -> Response:
        form = CooperationMonthlyInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.monthly_update_submit(
            actor=request.user, entries=form.validated_data["entries"]
        )
        data = {
            "month": f"{result.month:%Y-%m}",
            "confirmed": result.confirmed,
            "changes": [r.change.pk for r in result.changed],
            "special_reviews_opened": [
                r.review_opened.pk for r in result.changed if r.review_opened
            ],
        }
        return Response(
            CooperationMonthlyResultSerializer(data).data, status=status.HTTP_201_CREATED
        )

    @action(detail=False, methods=["get"], url_path="monthly/progress")
    def progress(self, request: Request) -> Response:
        month = _month(_query(CooperationMonthFilterSerializer, request).get("month"))
        due_on, overdue = _due(month)
        departments = selectors.monthly_progress(actor=request.user, month=month)
        data = {
            "month": f"{month:%Y-%m}",
            "due_on": due_on,
            "overdue": overdue,
            "departments": [d for d in departments if d.missing],
        }
        return Response(CooperationProgressSerializer(data).data)

    @action(detail=False, methods=["get"])
    def leaderboard(self, request: Request) -> Response:
        params = _query(UpgradeLeaderboardFilterSerializer, request)
        period = params.get("period") or policy.get("cooperation.upgrade_period")
        start = period_start(period, params.get("date") or timezone.localdate())
        rows = selectors.leaderboard(actor=request.user, period=period, start=start)
        data = {
            "period": period,
            "start": start,
            "label": period_label(period, start),
            "rows": rows,
        }
        return Response(UpgradeLeaderboardSerializer(data).data)
