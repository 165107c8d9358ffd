"""Pages of customers.imports (included from customers/urls.py)."""

from django.urls import path

from guanxi.customers.imports import views

urlpatterns = [
    path("imports/", views.import_index, name="customer_import"),
    path("imports/template.xlsx", views.import_template, name="customer_import_template"),
    path("imports/<int:pk>/", views.import_detail, name="customer_import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="customer_import_progress"),
    path("imports/<int:pk>/report.xlsx", views.import_report, name="customer_import_report"),
    path(
        "imports/mappings/<int:pk>/delete/",
        views.import_mapping_delete,
        name="customer_import_mapping_delete",
    ),
]
