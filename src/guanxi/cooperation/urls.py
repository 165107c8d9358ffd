from django.urls import path

from guanxi.cooperation import views

urlpatterns = [
    path("", views.cooperation_home, name="cooperation_home"),
    path("monthly/", views.monthly_update, name="cooperation_monthly"),
    path("monthly/progress/", views.monthly_progress, name="cooperation_progress"),
    path("reviews/", views.special_review_list, name="special_review_list"),
    path("reviews/<int:pk>/", views.special_review_detail, name="special_review_detail"),
    path("reviews/<int:pk>/close/", views.special_review_close, name="special_review_close"),
    path("leaderboard/", views.leaderboard, name="cooperation_leaderboard"),
    path("statistics/", views.statistics, name="cooperation_statistics"),
    path("customers/<int:pk>/status/", views.status_change, name="cooperation_status_change"),
]
