"""The project's URLs plus /bench/floor/: a trivial view served by the same server through
the same middleware (session, authentication, audit context, axes …)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("guanxi.urls")),
]
