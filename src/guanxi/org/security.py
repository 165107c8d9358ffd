"""Login lockout hooks for django-axes; the thresholds are company policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from guanxi import policy


def failure_limit(request: HttpRequest | None, credentials: Any = None) -> int:
    return policy.get("security.lockout_failures")


def cooloff_time(request: HttpRequest | None = None) -> dt.timedelta:
    return dt.timedelta(minutes=policy.get("security.lockout_minutes"))


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    minutes = policy.get("security.lockout_minutes")
    message = _("登录失败次数过多，账号已被锁定，请 %(minutes)s 分钟后再试或联系系统管理员。") % {
        "minutes": minutes
    }
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "locked_out", "message": message, "detail": {"minutes": minutes}}, status=403
        )
    return render(request, "registration/locked_out.html", {"message": message}, status=403)
