"""API of customers.search (included from customers/api_urls.py, before the customer router)."""

urlpatterns: list = []
