"""API of customers.dedup (included from customers/api_urls.py, before the customer router).

POST /api/customers/{id}/merge/
GET  /api/customer-merges/
POST /api/customer-merges/{id}/reverse/
"""

from django.urls import path

from guanxi.customers.dedup.api import CustomerMergeViewSet, MergeRecordViewSet

urlpatterns = [
    path(
        "customers/<str:id>/merge/",
        CustomerMergeViewSet.as_view({"post": "merge"}, detail=True),
        name="api-customer-merge",
    ),
    path(
        "customer-merges/",
        MergeRecordViewSet.as_view({"get": "list"}, detail=False),
        name="api-customer-merge-list",
    ),
    path(
        "customer-merges/<str:id>/reverse/",
        MergeRecordViewSet.as_view({"post": "reverse_merge"}, detail=True),
        name="api-customer-merge-reverse",
    ),
]
