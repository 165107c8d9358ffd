"""API of customers.imports (included from customers/api_urls.py, before the customer router:
/api/customers/export/ must win over /api/customers/{id}/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from guanxi.customers.imports import api

router = SimpleRouter()
# Mappings first: /api/imports/mappings/ is not a job id.
router.register("imports/mappings", api.ImportMappingViewSet, basename="api-import-mapping")
router.register("imports", api.ImportJobViewSet, basename="api-import")

urlpatterns = [
    path(
        "customers/export/",
        api.CustomerExportViewSet.as_view({"get": "list"}),
        name="api-customer-export",
    ),
    *router.urls,
]
