from django.urls import path
from rest_framework.routers import SimpleRouter

from guanxi.org import api

router = SimpleRouter()
router.register("departments", api.DepartmentViewSet, basename="api-department")
router.register("users", api.UserViewSet, basename="api-user")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    *router.urls,
]
