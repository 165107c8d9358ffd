from rest_framework.routers import SimpleRouter

from guanxi.reviews import api

router = SimpleRouter()
router.register("review-cycles", api.ReviewCycleViewSet, basename="api-review-cycle")
router.register("review-entries", api.ReviewEntryViewSet, basename="api-review-entry")
router.register(
    "treatment-applications", api.TreatmentApplicationViewSet, basename="api-treatment-application"
)
router.register("lifecycle", api.LifecycleViewSet, basename="api-lifecycle")
router.register("dashboard", api.DashboardViewSet, basename="api-dashboard")

urlpatterns = router.urls
