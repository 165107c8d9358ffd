"""Pages of customers.search (included from customers/urls.py): the data quality page."""

from django.urls import path

from guanxi.customers.search import views

urlpatterns = [
    path("quality/", views.data_quality, name="customer_quality"),
]
