"""Import pages (客户导入): upload, preview and column mapping, progress, error report.

Views parse input, call one service or selector and render. Jobs are the uploader's own
(selectors.import_job_get: anybody else's answers 404). Importing needs
customers.add_customer; the rows themselves go through the archive's services.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from guanxi.core.errors import DomainError, NotFound
from guanxi.customers.forms import show_domain_error
from guanxi.customers.imports import selectors, services
from guanxi.customers.imports.columns import LABELS
from guanxi.customers.imports.export import XLSX_CONTENT_TYPE
from guanxi.customers.imports.forms import MappingForm, UploadForm
from guanxi.customers.imports.models import ImportJob
from guanxi.customers.imports.sample import write_xlsx

IMPORT = "customers.add_customer"
TEMPLATE_HEADERS = [
    "序号", "客户", "统一社会信用代码", "分支机构", "主要负责人", "联系人", "联系方式",
    "合作状态", "表示颜色", "区域", "行业", "客户类型", "法定代表人", "注册资本（万元）", "地址",
    "邮编", "电话", "邮箱", "网址", "标签", "备注",
]  # fmt: skip
RECENT_JOBS = 20


def _job(request: HttpRequest, pk: Any) -> ImportJob:
    try:
        return selectors.import_job_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


@login_required
@permission_required(IMPORT, raise_exception=True)
def import_index(request: HttpRequest) -> HttpResponse:
    """Upload a spreadsheet (then the preview), the saved mappings, recent jobs."""
    mappings = selectors.import_mapping_list(actor=request.user)
    form = UploadForm(request.POST or None, request.FILES or None, mappings=mappings)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["mapping"]
        try:
            job = services.import_job_create(
                actor=request.user,
                file=form.cleaned_data["file"],
                mapping_id=chosen.pk if chosen else None,
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            return redirect("customer_import_detail", pk=job.pk)
    context = {
        "form": form,
        "mappings": mappings,
        "jobs": selectors.import_job_list(actor=request.user)[:RECENT_JOBS],
    }
    return render(request, "customers/imports/index.html", context)


def _preview_context(request: HttpRequest, job: ImportJob, form: MappingForm | None) -> dict:
    mapping = form.mapping() if form is not None and form.is_bound else None
    preview = services.import_preview(actor=request.user, job=job, mapping=mapping)
    if form is None:
        form = MappingForm(
            headers=preview.headers,
            mapping=preview.mapping,
            initial={"valid_only": job.valid_only},
        )
    errors_by_row: dict[int, list[Any]] = {}
    for error in preview.errors:
        errors_by_row.setdefault(error.row, []).append(error)
    samples = {h: [cells.get(h, "") for _n, cells in preview.rows[:3]] for h in preview.headers}
    return {
        "preview": preview,
        "mapping_form": form,
        "columns": [
            (field, [s for s in samples[field.label] if s][:2]) for field in form.column_fields()
        ],
        "preview_rows": [
            (
                number,
                [cells.get(h, "") for h in preview.headers],
                errors_by_row.get(number, []),
                preview.actions.get(number, ""),
            )
            for number, cells in preview.rows
        ],  # fmt: skip
        "target_labels": LABELS,
    }


@login_required
@permission_required(IMPORT, raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview (mapping, first rows, their errors) until started; then progress and
    the outcome. POST action=preview re-reads with the chosen mapping; action=start
    imports."""
    job = _job(request, pk)
    startable = job.status in services.STARTABLE
    form = None
    if request.method == "POST" and startable:
        sheet_headers = services.import_preview(actor=request.user, job=job, limit=0).headers
        form = MappingForm(request.POST, headers=sheet_headers, mapping=job.mapping)
        if request.POST.get("action") == "start" and form.is_valid():
            try:
                job = services.import_job_start(
                    actor=request.user,
                    job=job,
                    mapping=form.mapping(),
                    valid_only=form.cleaned_data["valid_only"],
                    save_mapping_as=form.cleaned_data["save_as"],
                )
            except DomainError as exc:
                show_domain_error(form, exc)
            else:
                if job.status == ImportJob.Status.QUEUED:
                    messages.info(
                        request, _("导入已在后台开始，您可以离开本页，稍后回来查看结果。")
                    )
                return redirect("customer_import_detail", pk=job.pk)
    context: dict[str, Any] = {"job": job, "percent": selectors.progress_percent(job)}
    if job.status in services.STARTABLE:
        context.update(_preview_context(request, job, form))
    return render(request, "customers/imports/detail.html", context)


@login_required
@permission_required(IMPORT, raise_exception=True)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block, polled every second by htmx while the job runs; once it has
    finished the page reloads to show the outcome."""
    job = _job(request, pk)
    if request.htmx and job.status in services.FINISHED:
        return HttpResponseClientRefresh()
    context = {"job": job, "percent": selectors.progress_percent(job)}
    return render(request, "customers/imports/_progress.html", context)


@login_required
@permission_required(IMPORT, raise_exception=True)
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's per-row error report (.xlsx)."""
    job = _job(request, pk)
    if not job.report:
        raise Http404(_("该导入没有错误报告。"))
    try:
        handle = job.report.open("rb")
    except FileNotFoundError:
        raise Http404(_("错误报告文件已丢失，请重新导入。")) from None
    filename = _("%(name)s-错误报告.xlsx") % {"name": Path(job.original_name).stem}
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


@login_required
@permission_required(IMPORT, raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty spreadsheet with the columns the importer recognises."""
    output = io.BytesIO()
    write_xlsx(output, [_(h) for h in TEMPLATE_HEADERS], [], title=_("客户统计表"))
    response = HttpResponse(output.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="customers-import-template.xlsx"'
    return response


@login_required
@permission_required(IMPORT, raise_exception=True)
@require_POST
def import_mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.import_mapping_delete(actor=request.user, mapping_id=pk)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None
    messages.success(request, _("列对应方案已删除。"))
    return redirect("customer_import")
