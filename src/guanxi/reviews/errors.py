"""Errors of the annual review cycle and the grade lifecycle, in the core.errors hierarchy
(same API shape: {"code", "message", "detail"})."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.errors import Conflict, InvalidState


class CycleInProgress(Conflict):
    code = "cycle_in_progress"
    default_message = _("已有一轮年度评定正在进行，请先完成或取消。")


class CycleYearTaken(Conflict):
    code = "cycle_year_taken"
    default_message = _("该年度已有年度评定。")


class WrongStage(InvalidState):
    """The cycle is not at the stage the action belongs to (e.g. rating after the review
    meeting started, approving before submission)."""

    code = "wrong_stage"
    default_message = _("年度评定当前阶段不能执行此操作。")


class ApplicationPending(Conflict):
    code = "application_pending"
    default_message = _("该客户已有待审批的待遇申请。")
