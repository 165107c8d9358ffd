from django.urls import path

from guanxi.audit import views

urlpatterns = [
    path("", views.audit_search, name="audit_search"),
]
