"""Grant the review-cycle permissions to the default roles of an existing database.

On a fresh database the roles do not exist yet during migrate and ensure_default_roles
creates them with these permissions afterwards; on a database whose roles exist (a running
company) this adds the new permissions to them, once. Frozen copy of org.roles (issue 5).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "reviews.view_reviewcycle",
    "reviews.view_reviewentry",
    "reviews.view_lifecycle",
    "reviews.view_treatmentapplication",
    "reviews.export_reviewentry",
]
SALES = [*VIEW, "reviews.rate_reviewentry", "reviews.add_treatmentapplication"]
GRANTS = {
    "salesperson": SALES,
    "supervisor": [*SALES, "reviews.view_dashboard"],
    "sales_director": [
        *SALES,
        "reviews.adjust_reviewcycle",
        "reviews.decide_treatmentapplication",
        "reviews.add_provisionalreview",
        "reviews.view_dashboard",
    ],
    "general_manager": [
        *VIEW,
        "reviews.approve_reviewcycle",
        "reviews.decide_treatmentapplication",
        "reviews.add_provisionalreview",
        "reviews.view_dashboard",
    ],
    "administrator": [*VIEW, "reviews.open_reviewcycle", "reviews.view_dashboard"],
}


def _permissions(apps, names):
    """Primary keys: with several migrations unapplied together, the roles' historical
    Permission model is not the one `apps` gives, and m2m add/remove refuse its instances
    ('Must be "Permission" instance')."""
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.extend(
            Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).values_list("pk", flat=True)
        )
    return found


def grant(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    roles = {role.code: role for role in Role.objects.filter(code__in=GRANTS)}
    if not roles:
        return
    create_permissions(
        global_apps.get_app_config("reviews"),
        verbosity=0,
        using=schema_editor.connection.alias,
        apps=apps,
    )
    for code, role in roles.items():
        role.permissions.add(*_permissions(apps, GRANTS[code]))


def revoke(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for role in Role.objects.filter(code__in=GRANTS):
        role.permissions.remove(*_permissions(apps, GRANTS[role.code]))


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("org", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
