from django.urls import path
from rest_framework.routers import SimpleRouter

from guanxi.credit import api

router = SimpleRouter()
router.register("credit-limits", api.CreditLimitViewSet, basename="api-credit-limit")
router.register("credit-overrides", api.CreditOverrideViewSet, basename="api-credit-override")
router.register("credit-ratings", api.CreditRatingViewSet, basename="api-credit-rating")
router.register("credit-rounds", api.CreditRoundViewSet, basename="api-credit-round")
router.register("credit-warnings", api.CreditWarningViewSet, basename="api-credit-warning")
router.register(
    "credit-investigations", api.InvestigationViewSet, basename="api-credit-investigation"
)

urlpatterns = [
    path(
        "customers/<str:id>/credit/",
        api.CustomerCreditViewSet.as_view({"get": "retrieve"}, detail=True),
        name="api-customer-credit",
    ),
    *router.urls,
]
