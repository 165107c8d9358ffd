"""API of customers.imports (included from customers/api_urls.py, before the customer router)."""

urlpatterns: list = []
