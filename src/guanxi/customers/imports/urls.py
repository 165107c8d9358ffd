"""Pages of customers.imports (included from customers/urls.py)."""

urlpatterns: list = []
