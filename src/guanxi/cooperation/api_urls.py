from django.urls import path
from rest_framework.routers import SimpleRouter

from guanxi.cooperation import api

router = SimpleRouter()
router.register("special-reviews", api.SpecialReviewViewSet, basename="api-special-review")
router.register("cooperation", api.CooperationViewSet, basename="api-cooperation")

customer_status = api.CustomerStatusViewSet.as_view(
    {"get": "retrieve", "post": "create"}, detail=True
)

urlpatterns = [
    path("customers/<str:id>/status/", customer_status, name="api-customer-status"),
    *router.urls,
]
