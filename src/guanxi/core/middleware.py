"""Language choice: zh-hans unless the user picked another language.

Pages follow the language switch (Django's language cookie) only: a Chinese company's
staff whose browser happens to send `Accept-Language: en` still get the Chinese UI. API
clients may also ask with the standard `Accept-Language` header.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.supported = dict(settings.LANGUAGES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in self.supported and request.path.startswith("/api/"):
            code = translation.get_language_from_request(request)
        if code not in self.supported:
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        response.headers.setdefault("Vary", "Cookie")
        return response
