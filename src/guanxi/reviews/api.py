"""REST endpoints of the annual review cycle, the lifecycle lists and the dashboard.

    /api/review-cycles/ [{id}/]                          list · open · detail (with progress)
    /api/review-cycles/{id}/start-review|submit|return|approve|cancel/
    /api/review-cycles/{id}/entries/                     《客户等级评定表》 rows in scope
    /api/review-cycles/{id}/key-customers/               《年度重要顾客一览表》 (effective)
    /api/review-entries/{id}/ [rate/] [adjust/]          initial rating · adjustment
    /api/treatment-applications/ [{id}/] [approve|reject/]
    /api/lifecycle/due-reviews|elimination-candidates|growth-ranking/
    /api/dashboard/

Each action parses input, calls one service or selector and renders. Entries and
applications are fetched through scope first (404), then the action permission (403), then
the input (400).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import ApiViewSetMixin, IdField, error_responses, id_parameter
from guanxi.reviews import selectors, services
from guanxi.reviews.models import ReviewCycle, ReviewEntry, TreatmentApplication

ID = [id_parameter()]


def _codes(choices: Any) -> str:
    return "；".join(f"{value} {label}" for value, label in choices.choices)


# --- serializers -------------------------------------------------------------------------------
class ReviewProgressSerializer(serializers.Serializer):
    department = serializers.IntegerField(source="department_id", allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()
    rated = serializers.IntegerField(help_text="已初评")
    adjusted = serializers.IntegerField(help_text="复评调整")
    percent = serializers.IntegerField()


class ReviewCycleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    year = serializers.IntegerField(read_only=True, help_text="评定年度（等级适用的年度）")
    title = serializers.CharField(source="__str__", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(ReviewCycle.Status))
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    starts_on = serializers.DateField(read_only=True)
    ends_on = serializers.DateField(read_only=True)
    policy_version = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True)
    opened_by = serializers.CharField(source="opened_by.display_name", read_only=True)
    opened_at = serializers.DateTimeField(read_only=True)
    approved_by = serializers.CharField(
        source="approved_by.display_name", read_only=True, allow_null=True, default=None
    )
    approved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    key_grades = serializers.ListField(child=serializers.CharField(), read_only=True)
    changed = serializers.IntegerField(read_only=True, help_text="生效时等级变化的客户数")


class ReviewCycleDetailSerializer(ReviewCycleSerializer):
    progress = ReviewProgressSerializer(
        many=True, read_only=True, help_text="各部门进度（数据范围内）"
    )


class CycleOpenSerializer(serializers.Serializer):
    year = serializers.IntegerField(
        required=False, min_value=2000, max_value=2999, help_text="评定年度，默认按策略窗口"
    )
    starts_on = serializers.DateField(required=False, help_text="默认按 reviews.cycle_window")
    ends_on = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ReviewNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ReviewEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    cycle = serializers.IntegerField(source="cycle_id", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    department = serializers.CharField(source="customer.department.name", read_only=True)
    owner = serializers.CharField(source="customer.owner.display_name", read_only=True)
    previous_grade = serializers.CharField(read_only=True)
    proposed_grade = serializers.CharField(read_only=True, help_text="系统建议等级")
    proposed_score = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    initial_grade = serializers.CharField(read_only=True)
    initial_reason = serializers.CharField(read_only=True)
    rated_by = serializers.CharField(
        source="rated_by.display_name", read_only=True, allow_null=True, default=None
    )
    rated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    adjusted_grade = serializers.CharField(read_only=True)
    adjustment_reason = serializers.CharField(read_only=True)
    adjusted_by = serializers.CharField(
        source="adjusted_by.display_name", read_only=True, allow_null=True, default=None
    )
    adjusted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_grade = serializers.CharField(
        read_only=True, help_text="当前结论：复评等级，否则初评等级，否则系统建议"
    )
    final_grade = serializers.CharField(read_only=True, help_text="批准生效的等级")


class EntryFilterSerializer(serializers.Serializer):
    department = IdField(required=False, help_text="分支机构ID")
    state = serializers.ChoiceField(
        choices=["", "unrated", "rated", "adjusted"], required=False, default=""
    )
    mine = serializers.BooleanField(required=False, default=False, help_text="只看我负责的")


class ReviewGradeSerializer(serializers.Serializer):
    grade = serializers.CharField(max_length=20, help_text="等级代码（grading.bands）")
    reason = serializers.CharField(max_length=500, help_text="理由（必填）")


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer_class(data=request.query_params)
    form.is_valid(raise_exception=True)
    return form.validated_data


# --- cycles ------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="年度评定列表", responses={200: ReviewCycleSerializer, **error_responses(401, 403)}
    ),
    create=extend_schema(
        summary="开启年度评定（系统为每个客户给出建议等级）",
        request=CycleOpenSerializer,
        responses={201: ReviewCycleDetailSerializer, **error_responses(400, 401, 403, 409)},
    ),
    retrieve=extend_schema(
        summary="年度评定详情与各部门进度",
        parameters=ID,
        responses={200: ReviewCycleDetailSerializer, **error_responses(401, 403, 404)},
    ),
    start_review=extend_schema(
        summary="结束初评、开始复评（销售总监）",
        parameters=ID,
        request=None,
        responses={200: ReviewCycleDetailSerializer, **error_responses(401, 403, 404, 409)},
    ),
    submit=extend_schema(
        summary="提交总经理批准（销售总监）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: ReviewCycleDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    return_to_review=extend_schema(
        summary="退回复评（总经理，需填写原因）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: ReviewCycleDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    approve=extend_schema(
        summary="批准年度评定，等级统一生效（总经理）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: ReviewCycleDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    cancel=extend_schema(
        summary="取消年度评定（需填写原因）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: ReviewCycleDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    entries=extend_schema(
        summary="客户等级评定表（数据范围内）",
        parameters=[*ID, EntryFilterSerializer],
        responses={200: ReviewEntrySerializer(many=True), **error_responses(400, 401, 403, 404)},
    ),
    key_customers=extend_schema(
        summary="年度重要顾客一览表（批准生效后）",
        parameters=ID,
        responses={200: ReviewEntrySerializer(many=True), **error_responses(401, 403, 404)},
    ),
)
class ReviewCycleViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Annual review cycles (年度评定). Cycles are company-wide; their entries, progress and
    lists are limited to the requester's data scope."""

    serializer_class = ReviewCycleSerializer
    action_permissions = {
        "list": ["reviews.view_reviewcycle"],
        "create": ["reviews.open_reviewcycle"],
        "retrieve": ["reviews.view_reviewcycle"],
        "start_review": ["reviews.adjust_reviewcycle"],
        "submit": ["reviews.adjust_reviewcycle"],
        "return_to_review": ["reviews.approve_reviewcycle"],
        "approve": ["reviews.approve_reviewcycle"],
        "cancel": ["reviews.open_reviewcycle"],
        "entries": ["reviews.view_reviewentry"],
        "key_customers": ["reviews.view_reviewentry"],
    }

    def get_object(self) -> ReviewCycle:
        cycle = selectors.cycle_get(pk=self.kwargs["id"])
        self.check_object_permissions(self.request, cycle)
        return cycle

    def _detail(self, cycle_id: int, **kwargs: Any) -> Response:
        cycle = selectors.cycle_get(pk=cycle_id)
        cycle.progress = selectors.cycle_progress(actor=self.request.user, cycle=cycle)
        return Response(ReviewCycleDetailSerializer(cycle).data, **kwargs)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.cycle_list())
        return self.get_paginated_response(ReviewCycleSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = CycleOpenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cycle = services.cycle_open(actor=request.user, **form.validated_data)
        return self._detail(cycle.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._detail(self.get_object().pk)

    def _step(self, service: Any, request: Request, *, with_note: bool = True) -> Response:
        cycle = self.get_object()
        kwargs: dict[str, Any] = {}
        if with_note:
            form = ReviewNoteSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            kwargs["note"] = form.validated_data["note"]
        service(actor=request.user, cycle_id=cycle.pk, **kwargs)
        return self._detail(cycle.pk)

    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request: Request, id: str) -> Response:
        return self._step(services.cycle_start_review, request, with_note=False)

    @action(detail=True, methods=["post"])
    def submit(self, request: Request, id: str) -> Response:
        return self._step(services.cycle_submit, request)

    @action(detail=True, methods=["post"], url_path="return")
    def return_to_review(self, request: Request, id: str) -> Response:
        return self._step(services.cycle_return, request)

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, id: str) -> Response:
        return self._step(services.cycle_approve, request)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        return self._step(services.cycle_cancel, request)

    @action(detail=True, methods=["get"])
    def entries(self, request: Request, id: str) -> Response:
        cycle = self.get_object()
        params = _query(EntryFilterSerializer, request)
        rows = selectors.entry_list(
            actor=request.user,
            cycle=cycle,
            department_id=params.get("department"),
            state=params["state"],
            mine=params["mine"],
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ReviewEntrySerializer(page, many=True).data)

    @action(detail=True, methods=["get"], url_path="key-customers")
    def key_customers(self, request: Request, id: str) -> Response:
        cycle = self.get_object()
        page = self.paginate_queryset(selectors.key_customers(actor=request.user, cycle=cycle))
        return self.get_paginated_response(ReviewEntrySerializer(page, many=True).data)


@extend_schema_view(
    retrieve=extend_schema(
        summary="客户等级评定表中的一行",
        parameters=ID,
        responses={200: ReviewEntrySerializer, **error_responses(401, 403, 404)},
    ),
    rate=extend_schema(
        summary="初评：负责人给出等级与理由（初评阶段，限本人数据范围）",
        parameters=ID,
        request=ReviewGradeSerializer,
        responses={200: ReviewEntrySerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    adjust=extend_schema(
        summary="复评调整：销售总监给出等级与说明（复评阶段）",
        parameters=ID,
        request=ReviewGradeSerializer,
        responses={200: ReviewEntrySerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class ReviewEntryViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = ReviewEntrySerializer
    action_permissions = {
        "retrieve": ["reviews.view_reviewentry"],
        "rate": ["reviews.rate_reviewentry"],
        "adjust": ["reviews.adjust_reviewcycle"],
    }

    object_getter = staticmethod(selectors.entry_get)

    def _render(self, entry: ReviewEntry) -> Response:
        row = selectors.entry_get(actor=self.request.user, pk=entry.pk)
        return Response(ReviewEntrySerializer(row).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object())

    def _grade(self, service: Any, request: Request) -> Response:
        entry = self.get_object()
        form = ReviewGradeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._render(service(actor=request.user, entry_id=entry.pk, **form.validated_data))

    @action(detail=True, methods=["post"])
    def rate(self, request: Request, id: str) -> Response:
        return self._grade(services.entry_rate, request)

    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, id: str) -> Response:
        return self._grade(services.entry_adjust, request)


# --- treatment applications -------------------------------------------------------------------
class TreatmentApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    grade = serializers.CharField(read_only=True, help_text="申请时等级")
    requested_grade = serializers.CharField(read_only=True, help_text="申请享受的待遇等级")
    reason = serializers.CharField(read_only=True)
    applied_by = serializers.CharField(source="applied_by.display_name", read_only=True)
    applied_at = serializers.DateTimeField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=_codes(TreatmentApplication.Status))
    decided_by = serializers.CharField(
        source="decided_by.display_name", read_only=True, allow_null=True, default=None
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)


class ApplicationCreateSerializer(serializers.Serializer):
    customer = IdField(help_text="客户ID")
    reason = serializers.CharField(max_length=500, help_text="申请理由（价格、付款情况等）")


class ApplicationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["", *TreatmentApplication.Status.values], required=False, default=""
    )


@extend_schema_view(
    list=extend_schema(
        summary="高等级待遇申请列表",
        parameters=[ApplicationFilterSerializer],
        responses={
            200: TreatmentApplicationSerializer(many=True),
            **error_responses(400, 401, 403),
        },
    ),
    create=extend_schema(
        summary="申请享受高等级待遇（reviews.treatment_raise）",
        request=ApplicationCreateSerializer,
        responses={201: TreatmentApplicationSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    retrieve=extend_schema(
        summary="申请详情",
        parameters=ID,
        responses={200: TreatmentApplicationSerializer, **error_responses(401, 403, 404)},
    ),
    approve=extend_schema(
        summary="批准（销售总监/总经理）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: TreatmentApplicationSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    reject=extend_schema(
        summary="驳回（需填写意见）",
        parameters=ID,
        request=ReviewNoteSerializer,
        responses={200: TreatmentApplicationSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class TreatmentApplicationViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = TreatmentApplicationSerializer
    action_permissions = {
        "list": ["reviews.view_treatmentapplication"],
        "create": ["reviews.add_treatmentapplication"],
        "retrieve": ["reviews.view_treatmentapplication"],
        "approve": ["reviews.decide_treatmentapplication"],
        "reject": ["reviews.decide_treatmentapplication"],
    }

    object_getter = staticmethod(selectors.application_get)

    def _render(self, pk: int, **kwargs: Any) -> Response:
        row = selectors.application_get(actor=self.request.user, pk=pk)
        return Response(TreatmentApplicationSerializer(row).data, **kwargs)

    def list(self, request: Request) -> Response:
        params = _query(ApplicationFilterSerializer, request)
        rows = selectors.application_list(actor=request.user, status=params["status"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(TreatmentApplicationSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        form = ApplicationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        row = services.treatment_apply(
            actor=request.user,
            customer_id=form.validated_data["customer"],
            reason=form.validated_data["reason"],
        )
        return self._render(row.pk, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return self._render(self.get_object().pk)

    def _decide(self, request: Request, approve: bool) -> Response:
        row = self.get_object()
        form = ReviewNoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.treatment_decide(
            actor=request.user,
            application_id=row.pk,
            approve=approve,
            note=form.validated_data["note"],
        )
        return self._render(row.pk)

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, id: str) -> Response:
        return self._decide(request, True)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, id: str) -> Response:
        return self._decide(request, False)


# --- lifecycle lists and dashboard ------------------------------------------------------------
class LifecycleCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    department = serializers.CharField(source="department.name")
    owner = serializers.CharField(source="owner.display_name")
    grade = serializers.CharField()
    created_at = serializers.DateTimeField()


class GrowthRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    name = serializers.CharField()
    department = serializers.CharField()
    owner = serializers.CharField()
    grade = serializers.CharField()
    previous = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="前12个月")
    current = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="近12个月")
    growth = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="同比增长率")


class DueFilterSerializer(serializers.Serializer):
    all = serializers.BooleanField(
        required=False, default=False, help_text="包括未到期的暂定等级客户"
    )


@extend_schema_view(
    due_reviews=extend_schema(
        summary="待复评新客户（reviews.provisional_months）",
        parameters=[DueFilterSerializer],
        responses={200: LifecycleCustomerSerializer(many=True), **error_responses(401, 403)},
    ),
    elimination_candidates=extend_schema(
        summary="年度淘汰候选客户（reviews.elimination_*）",
        responses={200: LifecycleCustomerSerializer(many=True), **error_responses(401, 403)},
    ),
    growth_ranking=extend_schema(
        summary="增长最快客户（出货额同比）",
        responses={200: GrowthRowSerializer(many=True), **error_responses(401, 403)},
    ),
)
class LifecycleViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = LifecycleCustomerSerializer
    action_permissions = {
        "due_reviews": ["reviews.view_lifecycle"],
        "elimination_candidates": ["reviews.view_lifecycle"],
        "growth_ranking": ["reviews.view_lifecycle"],
    }

    @action(detail=False, methods=["get"], url_path="due-reviews")
    def due_reviews(self, request: Request) -> Response:
        params = _query(DueFilterSerializer, request)
        rows = selectors.provisional_list(actor=request.user, due_only=not params["all"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(LifecycleCustomerSerializer(page, many=True).data)

    @action(detail=False, methods=["get"], url_path="elimination-candidates")
    def elimination_candidates(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.elimination_candidates(actor=request.user))
        return self.get_paginated_response(LifecycleCustomerSerializer(page, many=True).data)

    @action(detail=False, methods=["get"], url_path="growth-ranking")
    def growth_ranking(self, request: Request) -> Response:
        rows = selectors.growth_ranking(actor=request.user)
        return Response(GrowthRowSerializer(rows, many=True).data)


class DashboardSerializer(serializers.Serializer):
    grades = serializers.ListField(child=serializers.DictField(), help_text="code, label, count")
    statuses = serializers.ListField(
        child=serializers.DictField(), help_text="code, label, colour, count"
    )
    due_reviews = serializers.IntegerField()
    elimination_candidates = serializers.IntegerField()
    open_special_reviews = serializers.IntegerField()
    pending_applications = serializers.IntegerField()
    cycle = serializers.DictField(allow_null=True, help_text="进行中的年度评定及其进度")


@extend_schema_view(
    list=extend_schema(
        summary="管理驾驶舱数据（数据范围内）",
        responses={200: DashboardSerializer, **error_responses(401, 403)},
    )
)
class DashboardViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    serializer_class = DashboardSerializer
    action_permissions = {"list": ["reviews.view_dashboard"]}

    def list(self, request: Request) -> Response:
        return Response(DashboardSerializer(selectors.dashboard(actor=request.user)).data)
