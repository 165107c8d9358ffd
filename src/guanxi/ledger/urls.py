from django.urls import path

from guanxi.ledger import views

urlpatterns = [
    path("", views.ledger_home, name="ledger_home"),
    path("import/", views.ledger_import, name="ledger_import"),
    path("customers/<int:pk>/", views.ledger_customer, name="ledger_customer"),
    path(
        "customers/<int:pk>/export.xlsx",
        views.ledger_customer_export,
        name="ledger_customer_export",
    ),
    path("customers/<int:pk>/shipments/new/", views.shipment_create, name="shipment_create"),
    path("customers/<int:pk>/payments/new/", views.payment_create, name="payment_create"),
    path("customers/<int:pk>/orders/new/", views.order_create, name="order_create"),
    path("customers/<int:pk>/terms/", views.terms_edit, name="ledger_terms"),
    path(
        "customers/<int:pk>/price-coefficients/new/",
        views.price_coefficient_create,
        name="price_coefficient_create",
    ),
    path("shipments/<int:pk>/reverse/", views.shipment_reverse, name="shipment_reverse"),
    path("payments/<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("price-coefficients/", views.price_coefficient_list, name="price_coefficient_list"),
    path(
        "price-coefficients/<int:pk>/decide/",
        views.price_coefficient_decide,
        name="price_coefficient_decide",
    ),
]
