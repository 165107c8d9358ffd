"""Pages of customers.dedup (included from customers/urls.py)."""

urlpatterns: list = []
