"""Errors of the cooperation status rules, in the core.errors hierarchy (same API shape:
{"code", "message", "detail"})."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.errors import Conflict, ValidationFailed


class DowngradeNeedsExplanation(ValidationFailed):
    """A downgrade without a written explanation (reason) and a follow-up plan (plan)."""

    code = "downgrade_needs_explanation"
    default_message = _("合作状态降级时，负责人必须填写书面解释和后期解决办法。")


class StatusUnchanged(Conflict):
    code = "status_unchanged"
    default_message = _("合作状态没有变化。每月确认未变化的状态请使用月度更新。")
