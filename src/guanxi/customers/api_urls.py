from django.urls import include, path
from rest_framework.routers import SimpleRouter

from guanxi.customers.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="api-customer")
router.register("contacts", views.ContactViewSet, basename="api-contact")

urlpatterns = [
    path("", include("guanxi.customers.imports.api_urls")),
    path("", include("guanxi.customers.dedup.api_urls")),
    path("", include("guanxi.customers.search.api_urls")),
    *router.urls,
]
