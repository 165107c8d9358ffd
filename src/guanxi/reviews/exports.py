"""The review cycle's workbooks (XlsxWriter via ledger.exports.Book, text always written as
text): 《客户等级评定表》 and 《年度重要顾客一览表》. Rows are the actor's scope only; each
export is audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.core.errors import ValidationFailed
from guanxi.customers.selectors import export_limit
from guanxi.ledger.exports import XLSX, Book
from guanxi.reviews import grading_adapter
from guanxi.reviews.models import ReviewCycle, ReviewEntry

__all__ = ["XLSX", "key_customers_workbook", "rating_form_workbook"]


def _check_size(actor: Any, rows: QuerySet[ReviewEntry]) -> int:
    count = rows.count()
    limit = export_limit(actor=actor)
    if count > limit:
        raise ValidationFailed(
            _("导出行数 %(count)s 超过您的单次导出上限 %(limit)s，请按部门筛选后分批导出。")
            % {"count": count, "limit": limit}
        )
    return count


def _label(code: str) -> str:
    return grading_adapter.band_label(code) if code else ""


def rating_form_workbook(*, actor: Any, cycle: ReviewCycle, rows: QuerySet[ReviewEntry]) -> bytes:
    """《客户等级评定表》: per customer the previous grade, the system's proposal and score,
    the initial rating with reasons, the review adjustment and the final grade."""
    count = _check_size(actor, rows)
    book = Book()
    headers = [
        _("序号"), _("客户名称"), _("分支机构"), _("负责人"), _("原等级"), _("系统建议等级"),
        _("系统评分"), _("初评等级"), _("初评理由"), _("初评人"), _("复评等级"), _("复评说明"),
        _("最终等级"),
    ]  # fmt: skip
    data = (
        [
            number,
            e.customer.name,
            e.customer.department.name,
            e.customer.owner.display_name,
            _label(e.previous_grade),
            _label(e.proposed_grade),
            e.proposed_score,
            _label(e.initial_grade),
            e.initial_reason,
            e.rated_by.display_name if e.rated_by else "",
            _label(e.adjusted_grade),
            e.adjustment_reason,
            _label(e.final_grade),
        ]  # fmt: skip
        for number, e in enumerate(rows.iterator(chunk_size=2000), start=1)
    )
    title = _("客户等级评定表") + f" · {cycle}"
    book.sheet(_("客户等级评定表"), title, headers, data,
               widths=[6, 30, 14, 10, 8, 12, 10, 10, 30, 10, 10, 30, 10])  # fmt: skip
    audit.record(
        actor=actor, action="review_cycle.rating_form_exported", obj=cycle,
        changes={"rows": [None, count]},
    )  # fmt: skip
    return book.close()


def key_customers_workbook(*, actor: Any, cycle: ReviewCycle, rows: QuerySet[ReviewEntry]) -> bytes:
    """《年度重要顾客一览表》 of an effective cycle."""
    from guanxi.cooperation.selectors import ladder_now

    count = _check_size(actor, rows)
    ladder = ladder_now()
    book = Book()
    headers = [
        _("序号"), _("客户名称"), _("分支机构"), _("负责人"), _("评定等级"), _("原等级"),
        _("系统评分"), _("合作状态"), _("评定理由"),
    ]  # fmt: skip
    data = (
        [
            number,
            e.customer.name,
            e.customer.department.name,
            e.customer.owner.display_name,
            _label(e.final_grade),
            _label(e.previous_grade),
            e.proposed_score,
            ladder.label(e.customer.cooperation_status) if e.customer.cooperation_status else "",
            e.adjustment_reason or e.initial_reason,
        ]  # fmt: skip
        for number, e in enumerate(rows.iterator(chunk_size=2000), start=1)
    )
    title = _("%(year)s年度重要顾客一览表") % {"year": cycle.year}
    book.sheet(_("年度重要顾客一览表"), title, headers, data,
               widths=[6, 30, 14, 10, 10, 8, 10, 10, 40])  # fmt: skip
    audit.record(
        actor=actor, action="review_cycle.key_customers_exported", obj=cycle,
        changes={"rows": [None, count]},
    )  # fmt: skip
    return book.close()
