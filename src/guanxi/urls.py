from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from guanxi.core import views as core_views

api_patterns = [
    path("", include("guanxi.org.api_urls")),
    path("", include("guanxi.customers.api_urls")),
    path("", include("guanxi.ledger.api_urls")),
    path("", include("guanxi.credit.api_urls")),
    path("", include("guanxi.grading.api_urls")),
    path("", include("guanxi.cooperation.api_urls")),
    path("", include("guanxi.reviews.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("guanxi.org.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("audit/", include("guanxi.audit.urls")),
    path("ledger/", include("guanxi.ledger.urls")),
    path("credit/", include("guanxi.credit.urls")),
    path("grading/", include("guanxi.grading.urls")),
    path("cooperation/", include("guanxi.cooperation.urls")),
    path("reviews/", include("guanxi.reviews.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler404 = "guanxi.core.handlers.not_found"
