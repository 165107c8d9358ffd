from rest_framework.routers import SimpleRouter

from guanxi.customers.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="api-customer")
router.register("contacts", views.ContactViewSet, basename="api-contact")

urlpatterns = router.urls
