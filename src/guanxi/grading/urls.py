from django.urls import path

from guanxi.grading import views

urlpatterns = [
    path("", views.grading_home, name="grading_home"),
    path("runs/", views.grading_run_start, name="grading_run_start"),
    path("customers/<int:pk>/scores/", views.role_score_edit, name="grading_role_scores"),
    path("simulate/", views.grading_simulate, name="grading_simulate"),
    path("simulate/<int:version_id>/publish/", views.draft_publish, name="grading_publish"),
]
