"""REST API of the customer archive (serializers for shapes, views for endpoints)."""
