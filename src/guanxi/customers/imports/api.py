"""REST endpoints of customer import and export.

    /api/imports/                   list (own jobs) · create (multipart upload: file,
                                    valid_only, mapping, mapping_id)
    /api/imports/{id}/              job status and progress
    /api/imports/{id}/preview/      first rows as parsed, the mapping, dry-run row errors
    /api/imports/{id}/commit/       confirm the mapping and import (202; small files are
                                    finished when it answers, others run in the worker)
    /api/imports/{id}/report/       the per-row error report (.xlsx)
    /api/imports/mappings/ [{id}/]  saved column mappings: list · create · delete
    /api/customers/export/          the filtered customer list as .xlsx
                                    (?layout=statistics|full and the list's filters)

Importing needs customers.add_customer, exporting customers.export_customer. Jobs and
mappings are the requester's own: anybody else's answers 404.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api import ApiViewSetMixin, IdField, ListField, error_responses, id_parameter
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.imports import export, selectors, services
from guanxi.customers.imports.columns import TARGET_KEYS
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.models import Tag

ADD_CUSTOMER = "customers.add_customer"
EXPORT_CUSTOMER = "customers.export_customer"
XLSX = export.XLSX_CONTENT_TYPE


class XlsxRenderer(BaseRenderer):
    """Lets clients ask for the spreadsheet by Accept header; errors stay JSON text."""

    media_type = XLSX
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


XLSX_RESPONSE = OpenApiResponse(response=OpenApiTypes.BINARY, description="Excel 工作簿（.xlsx）")


# --- serializers -------------------------------------------------------------------------------
class ImportJobSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField(help_text="进度百分比（0–100）")
    report_url = serializers.SerializerMethodField(help_text="错误报告下载地址（无错误时为空）")

    class Meta:
        model = ImportJob
        fields = [
            "id", "original_name", "status", "status_label", "valid_only", "encoding",
            "mapping", "total_rows", "processed_rows", "progress", "created_count",
            "updated_count", "error_count", "message", "report_url", "created_at",
            "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> int:
        return selectors.progress_percent(job)

    def get_report_url(self, job: ImportJob) -> str | None:
        return f"/api/imports/{job.pk}/report/" if job.report else None


def _mapping_field(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.ChoiceField(choices=["", *TARGET_KEYS], allow_blank=True),
        help_text="表头 → 字段代码（空字符串表示不导入），未列出的表头按自动识别",
        **kwargs,
    )


class MappingJSONField(serializers.JSONField):
    """The mapping in a multipart upload: a JSON object given as text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                raise serializers.ValidationError("应为JSON对象（表头 → 字段代码）。") from None
        mapping = _mapping_field()
        return mapping.run_validation(data)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=".xlsx 或 .csv（UTF-8 或 GBK/GB18030）")
    valid_only = serializers.BooleanField(
        required=False, default=False, help_text="仅导入有效行（默认：有错误则全部不导入）"
    )
    mapping = MappingJSONField(
        required=False, help_text="JSON 对象：表头 → 字段代码，覆盖自动识别的列对应"
    )
    mapping_id = IdField(required=False, help_text="已保存的列对应方案ID")


class ImportCommitSerializer(serializers.Serializer):
    mapping = _mapping_field(required=False)
    valid_only = serializers.BooleanField(required=False, help_text="仅导入有效行")
    save_mapping_as = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text="同时把列对应保存为方案"
    )


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="表格中的行号")
    column = serializers.CharField(help_text="表头（整行问题时为空）")
    value = serializers.CharField()
    message = serializers.CharField()


class PreviewRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    cells = serializers.DictField(child=serializers.CharField())
    result = serializers.CharField(help_text="created / updated / unchanged；有错误时为空")


class ImportPreviewSerializer(serializers.Serializer):
    headers = ListField(child=serializers.CharField())
    header_row = serializers.IntegerField(help_text="表头所在行号")
    mapping = serializers.DictField(child=serializers.CharField())
    rows = PreviewRowSerializer(many=True)
    errors = RowErrorSerializer(many=True)


class PreviewQuerySerializer(serializers.Serializer):
    rows = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="预览行数（默认20）"
    )


class ImportMappingSerializer(serializers.ModelSerializer):
    columns = _mapping_field()

    class Meta:
        model = ImportMapping
        fields = ["id", "name", "columns", "created_at"]
        read_only_fields = ["id", "created_at"]


class ExportQuerySerializer(serializers.Serializer):
    layout = serializers.ChoiceField(
        choices=export.LAYOUTS,
        required=False,
        default="full",
        help_text="statistics=客户统计表（序号、客户、分支机构、主要负责人、联系方式、合作状态、"
        "表示颜色，颜色为单元格底色）；full=全部档案列",
    )
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    customer_type = serializers.CharField(required=False, allow_blank=True, max_length=30)
    region = IdField(required=False)
    owner = IdField(required=False)
    department = IdField(required=False)
    tag = ListField(child=serializers.CharField(max_length=30), required=False)
    sort = serializers.ChoiceField(choices=list(customer_selectors.SORTS), required=False)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer_class(data=request.query_params)
    form.is_valid(raise_exception=True)
    return form.validated_data


ID = [id_parameter()]


# --- import jobs -------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="我的导入任务",
        responses={200: ImportJobSerializer(many=True), **error_responses(401, 403)},
    ),
    create=extend_schema(
        summary="上传要导入的表格（不会立即导入）",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportJobSerializer, **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="导入任务状态与进度",
        parameters=ID,
        responses={200: ImportJobSerializer, **error_responses(401, 403, 404)},
    ),
    preview=extend_schema(
        summary="预览：前几行、列对应与试导入发现的错误（不写入）",
        parameters=[*ID, PreviewQuerySerializer],
        responses={200: ImportPreviewSerializer, **error_responses(400, 401, 403, 404)},
    ),
    commit=extend_schema(
        summary="确认列对应并开始导入",
        parameters=ID,
        request=ImportCommitSerializer,
        responses={202: ImportJobSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    report=extend_schema(
        summary="下载错误报告（.xlsx）",
        parameters=ID,
        responses={(200, XLSX): XLSX_RESPONSE, **error_responses(401, 403, 404)},
    ),
)
class ImportJobViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Customer import jobs of the requester."""

    serializer_class = ImportJobSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = None
    action_permissions = {
        "list": [ADD_CUSTOMER],
        "create": [ADD_CUSTOMER],
        "retrieve": [ADD_CUSTOMER],
        "preview": [ADD_CUSTOMER],
        "commit": [ADD_CUSTOMER],
        "report": [ADD_CUSTOMER],
    }

    def get_renderers(self) -> list[BaseRenderer]:
        if getattr(self, "action", None) == "report":
            return [JSONRenderer(), XlsxRenderer()]
        return super().get_renderers()

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ImportUploadSerializer if self.action == "create" else ImportJobSerializer

    object_getter = staticmethod(selectors.import_job_get)

    def list(self, request: Request) -> Response:
        jobs = selectors.import_job_list(actor=request.user)[:100]
        return Response(ImportJobSerializer(jobs, many=True).data)

    def create(self, request: Request) -> Response:
        form = ImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job = services.import_job_create(
            actor=request.user,
            file=data["file"],
            valid_only=data.get("valid_only", False),
            mapping=data.get("mapping") or None,
            mapping_id=data.get("mapping_id"),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(ImportJobSerializer(self.get_object()).data)

    @action(detail=True, methods=["get"])
    def preview(self, request: Request, id: str) -> Response:
        job = self.get_object()
        params = _query(PreviewQuerySerializer, request)
        preview = services.import_preview(
            actor=request.user, job=job, limit=params.get("rows", services.PREVIEW_ROWS)
        )
        failed = {error.row for error in preview.errors}
        data = {
            "headers": preview.headers,
            "header_row": preview.header_row,
            "mapping": preview.mapping,
            "rows": [
                {
                    "row": number,
                    "cells": cells,
                    "result": "" if number in failed else preview.actions.get(number, ""),
                }
                for number, cells in preview.rows
            ],
            "errors": [vars(error) for error in preview.errors],
        }
        return Response(ImportPreviewSerializer(data).data)

    @action(detail=True, methods=["post"])
    def commit(self, request: Request, id: str) -> Response:
        job = self.get_object()
        form = ImportCommitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job = services.import_job_start(
            actor=request.user,
            job=job,
            mapping=data.get("mapping"),
            valid_only=data.get("valid_only"),
            save_mapping_as=data.get("save_mapping_as", ""),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def report(self, request: Request, id: str) -> Any:
        job = self.get_object()
        if not job.report:
            raise Http404()
        try:
            handle = job.report.open("rb")
        except FileNotFoundError:
            raise Http404() from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{Path(job.original_name).stem}-errors.xlsx",
            content_type=XLSX,
        )


# --- saved mappings ----------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="我的列对应方案",
        responses={200: ImportMappingSerializer(many=True), **error_responses(401, 403)},
    ),
    create=extend_schema(
        summary="保存列对应方案（同名则替换）",
        responses={201: ImportMappingSerializer, **error_responses(400, 401, 403)},
    ),
    destroy=extend_schema(
        summary="删除列对应方案",
        parameters=ID,
        responses={204: OpenApiResponse(description="已删除"), **error_responses(401, 403, 404)},
    ),
)
class ImportMappingViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """Saved header → field mappings of the requester."""

    serializer_class = ImportMappingSerializer
    pagination_class = None
    action_permissions = {
        "list": [ADD_CUSTOMER],
        "create": [ADD_CUSTOMER],
        "destroy": [ADD_CUSTOMER],
    }

    def list(self, request: Request) -> Response:
        mappings = selectors.import_mapping_list(actor=request.user)
        return Response(ImportMappingSerializer(mappings, many=True).data)

    def create(self, request: Request) -> Response:
        form = ImportMappingSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        mapping = services.import_mapping_save(
            actor=request.user,
            name=form.validated_data["name"],
            columns=form.validated_data["columns"],
        )
        return Response(ImportMappingSerializer(mapping).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, id: str) -> Response:
        mapping = selectors.import_mapping_get(actor=request.user, pk=id)
        self.check_object_permissions(request, mapping)
        services.import_mapping_delete(actor=request.user, mapping_id=mapping.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- export --------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="导出客户列表（.xlsx，按筛选条件，记入审计日志）",
        parameters=[ExportQuerySerializer],
        responses={
            (200, XLSX): XLSX_RESPONSE,
            **error_responses(400, 401, 403),
        },
        description="只导出您数据范围内的客户；超过您单次导出的上限（customers.export_max_rows）"
        "时拒绝（400），不截断。非本人负责客户的电话脱敏。",
    ),
)
class CustomerExportViewSet(ApiViewSetMixin, viewsets.GenericViewSet):
    """The customer list, as a spreadsheet."""

    action_permissions = {"list": [EXPORT_CUSTOMER]}
    pagination_class = None

    def get_renderers(self) -> list[BaseRenderer]:
        return [JSONRenderer(), XlsxRenderer()]

    def list(self, request: Request) -> Any:
        params = _query(ExportQuerySerializer, request)
        tag_names = params.get("tag", [])
        tag_ids = dict(Tag.objects.filter(name__in=tag_names).values_list("name", "pk"))
        filters = {
            "search": params.get("search", ""),
            "customer_type": params.get("customer_type", ""),
            "region_id": params.get("region"),
            "owner_id": params.get("owner"),
            "department_id": params.get("department"),
            # An unknown tag matches nothing: id 0 never exists.
            "tag_ids": [tag_ids.get(name, 0) for name in tag_names],
            "sort": params.get("sort", "updated"),
        }
        summary = {
            key: value
            for key, value in request.query_params.items()
            if key in ExportQuerySerializer().fields and key != "layout"
        }
        output = io.BytesIO()
        layout = params["layout"]
        export.customer_export(
            actor=request.user, output=output, layout=layout, filters=filters, summary=summary
        )
        response = HttpResponse(output.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(
            True, export.export_filename(layout)
        )
        return response
