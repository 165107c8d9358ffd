"""Import jobs and saved column mappings (客户导入). Policy: none yet."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportMapping(models.Model):
    """A saved header → field mapping a user can reuse for the same spreadsheet layout."""

    name = models.CharField(_("名称"), max_length=60)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("创建人"),
    )
    columns = models.JSONField(_("列对应"), default=dict)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("导入列对应")
        verbose_name_plural = _("导入列对应")
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "name"], name="import_mapping_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


def import_file_path(instance: ImportJob, filename: str) -> str:
    return f"imports/{instance.created_by_id}/{filename}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        COMMITTED = "committed", _("已导入")
        REFUSED = "refused", _("未导入（有错误）")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("导入人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    file = models.FileField(_("文件"), upload_to=import_file_path, max_length=300)
    original_name = models.CharField(_("原文件名"), max_length=200)
    encoding = models.CharField(_("编码"), max_length=20, blank=True)
    mapping = models.JSONField(_("列对应"), default=dict, blank=True)
    valid_only = models.BooleanField(_("仅导入有效行"), default=False)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.UPLOADED, db_index=True
    )
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    created_count = models.PositiveIntegerField(_("新建"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    error_count = models.PositiveIntegerField(_("错误行"), default=0)
    report = models.FileField(
        _("错误报告"), upload_to="import-reports/", max_length=300, blank=True
    )
    message = models.TextField(_("说明"), blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name
