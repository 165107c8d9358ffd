from django.urls import path

from guanxi.grading import api

urlpatterns = [
    path(
        "customers/<str:id>/grade/",
        api.CustomerGradeViewSet.as_view({"get": "retrieve"}, detail=True),
        name="api-customer-grade",
    ),
]
