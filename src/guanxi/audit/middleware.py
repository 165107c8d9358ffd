from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from guanxi.audit.context import AuditContext, using


def client_ip(request: HttpRequest) -> str | None:
    # Behind the reverse proxy the real address is the first X-Forwarded-For entry.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    return ip or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        source = "api" if request.path.startswith("/api/") else "web"
        with using(AuditContext(ip=client_ip(request), source=source)):
            return self.get_response(request)
