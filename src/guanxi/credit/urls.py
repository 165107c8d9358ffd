from django.urls import path

from guanxi.credit import views

urlpatterns = [
    path("", views.credit_home, name="credit_home"),
    path("rounds/open/", views.round_open, name="credit_round_open"),
    path("customers/<int:pk>/", views.credit_customer, name="credit_customer"),
    path("customers/<int:pk>/rate/", views.customer_rate, name="credit_customer_rate"),
    path("customers/<int:pk>/limits/new/", views.limit_create, name="credit_limit_create"),
    path("customers/<int:pk>/overrides/new/", views.override_create, name="credit_override_create"),
    path("limits/", views.limit_list, name="credit_limit_list"),
    path("limits/<int:pk>/", views.limit_detail, name="credit_limit_detail"),
    path("limits/<int:pk>/approve/", views.limit_approve, name="credit_limit_approve"),
    path("limits/<int:pk>/reject/", views.limit_reject, name="credit_limit_reject"),
    path("overrides/", views.override_list, name="credit_override_list"),
    path("overrides/<int:pk>/decide/", views.override_decide, name="credit_override_decide"),
    path("investigations/", views.investigation_list, name="credit_investigation_list"),
    path(
        "investigations/<int:pk>/close/",
        views.investigation_close,
        name="credit_investigation_close",
    ),
    path("reports/credit/", views.report_credit, name="credit_report"),
    path("reports/sales/", views.report_sales, name="credit_sales_report"),
]
