"""Pages of customers.dedup (included from customers/urls.py, before the customer pages).

/customers/duplicates/                       candidate pairs (review list)
/customers/duplicates/dismiss/               POST: "not a duplicate"
/customers/<pk>/merge/<other_pk>/            merge other_pk into pk
/customers/merges/                           merges, with reversal for administrators
/customers/merges/<pk>/reverse/              POST: reverse a merge
"""

from django.urls import path

from guanxi.customers.dedup import views

urlpatterns = [
    path("duplicates/", views.duplicate_list, name="duplicate_list"),
    path("duplicates/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("<int:pk>/merge/<int:other_pk>/", views.customer_merge, name="customer_merge"),
    path("merges/", views.merge_list, name="merge_list"),
    path("merges/<int:pk>/reverse/", views.merge_reverse, name="merge_reverse"),
]
