from rest_framework.routers import SimpleRouter

from guanxi.ledger import api

router = SimpleRouter()
router.register("shipments", api.ShipmentViewSet, basename="api-shipment")
router.register("payments", api.PaymentViewSet, basename="api-payment")
router.register("orders", api.OrderViewSet, basename="api-order")
router.register("price-coefficients", api.PriceCoefficientViewSet, basename="api-price-coefficient")
router.register("payment-terms", api.PaymentTermsViewSet, basename="api-payment-terms")

urlpatterns = router.urls
