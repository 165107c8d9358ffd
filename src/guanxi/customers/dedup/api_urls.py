"""API of customers.dedup (included from customers/api_urls.py, before the customer router)."""

urlpatterns: list = []
