from django.urls import path

from guanxi.reviews import views

urlpatterns = [
    path("", views.reviews_home, name="reviews_home"),
    path("cycles/new/", views.cycle_open, name="review_cycle_open"),
    path("cycles/<int:pk>/", views.cycle_detail, name="review_cycle"),
    path("cycles/<int:pk>/rating-form.xlsx", views.cycle_export, name="review_cycle_export"),
    path("cycles/<int:pk>/key-customers/", views.key_customers, name="review_key_customers"),
    path(
        "cycles/<int:pk>/key-customers.xlsx",
        views.key_customers_export,
        name="review_key_customers_export",
    ),
    path("cycles/<int:pk>/<slug:step>/", views.cycle_step, name="review_cycle_step"),
    path("entries/<int:pk>/rate/", views.entry_rate, name="review_entry_rate"),
    path("entries/<int:pk>/adjust/", views.entry_adjust, name="review_entry_adjust"),
    path("provisional/", views.provisional_list, name="review_provisional"),
    path(
        "provisional/<int:pk>/confirm/",
        views.provisional_confirm,
        name="review_provisional_confirm",
    ),
    path("elimination/", views.elimination_list, name="review_elimination"),
    path("growth/", views.growth_ranking, name="review_growth"),
    path("treatment/", views.treatment_list, name="review_treatment"),
    path("treatment/apply/", views.treatment_apply, name="review_treatment_apply"),
    path("treatment/<int:pk>/decide/", views.treatment_decide, name="review_treatment_decide"),
    path("dashboard/", views.dashboard, name="reviews_dashboard"),
    path("dashboard/data.json", views.dashboard_data, name="reviews_dashboard_data"),
]
