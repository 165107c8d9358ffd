"""Pages of customers.search (included from customers/urls.py)."""

urlpatterns: list = []
