from django.urls import include, path

from guanxi.customers import views

urlpatterns = [
    # Data intake and quality (issue 3): import/export, duplicates and merge, search & quality.
    path("", include("guanxi.customers.imports.urls")),
    path("", include("guanxi.customers.dedup.urls")),
    path("", include("guanxi.customers.search.urls")),
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("export.xlsx", views.customer_export, name="customer_export"),
    path("recycle-bin/", views.recycle_bin, name="recycle_bin"),
    path("recycle-bin/<int:pk>/restore/", views.customer_restore, name="customer_restore"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/delete/", views.customer_delete, name="customer_delete"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("<int:pk>/relations/new/", views.relation_create, name="relation_create"),
    path(
        "<int:pk>/relations/<int:relation_pk>/delete/",
        views.relation_delete,
        name="relation_delete",
    ),
    path("<int:pk>/special-dates/new/", views.special_date_create, name="special_date_create"),
    path(
        "<int:pk>/special-dates/<int:date_pk>/delete/",
        views.special_date_delete,
        name="special_date_delete",
    ),
    path("<int:pk>/attachments/new/", views.attachment_upload, name="attachment_upload"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/download/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
]
