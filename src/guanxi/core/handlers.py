"""Error pages: the API answers in its own JSON shape, pages with Django's templates."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": _("记录不存在或您无权访问。"), "detail": {}},
            status=404,
        )
    return defaults.page_not_found(request, exception)
