"""Grant the ledger and credit permissions to the default roles of an existing database.

On a fresh database the roles do not exist yet during migrate and ensure_default_roles
creates them with these permissions afterwards; on a database whose roles exist (a running
company) this adds the new permissions to them, once. Frozen copy of org.roles (issue 4).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "finance": [
        "credit.add_creditlimit",
        "credit.add_creditoverride",
        "credit.add_creditrating",
        "credit.approve_creditoverride",
        "credit.change_creditinvestigation",
        "credit.open_creditround",
        "credit.view_credit_report",
        "credit.view_creditinvestigation",
        "credit.view_creditlimit",
        "credit.view_creditoverride",
        "credit.view_creditrating",
        "credit.view_creditround",
        "ledger.add_order",
        "ledger.add_payment",
        "ledger.add_pricecoefficient",
        "ledger.add_shipment",
        "ledger.change_customerterms",
        "ledger.change_order",
        "ledger.import_ledger",
        "ledger.reverse_entry",
        "ledger.view_customerterms",
        "ledger.view_order",
        "ledger.view_payment",
        "ledger.view_pricecoefficient",
        "ledger.view_shipment",
    ],
    "general_manager": [
        "credit.add_creditlimit",
        "credit.add_creditoverride",
        "credit.add_creditrating",
        "credit.approve_creditlimit",
        "credit.approve_creditoverride",
        "credit.change_creditinvestigation",
        "credit.open_creditround",
        "credit.view_credit_report",
        "credit.view_creditinvestigation",
        "credit.view_creditlimit",
        "credit.view_creditoverride",
        "credit.view_creditrating",
        "credit.view_creditround",
        "ledger.add_pricecoefficient",
        "ledger.approve_pricecoefficient",
        "ledger.change_customerterms",
        "ledger.view_customerterms",
        "ledger.view_order",
        "ledger.view_payment",
        "ledger.view_pricecoefficient",
        "ledger.view_shipment",
    ],
    "sales_director": [
        "credit.add_creditlimit",
        "credit.add_creditoverride",
        "credit.change_creditinvestigation",
        "credit.view_credit_report",
        "credit.view_creditinvestigation",
        "credit.view_creditlimit",
        "credit.view_creditoverride",
        "credit.view_creditrating",
        "credit.view_creditround",
        "ledger.add_pricecoefficient",
        "ledger.approve_pricecoefficient",
        "ledger.view_customerterms",
        "ledger.view_order",
        "ledger.view_payment",
        "ledger.view_pricecoefficient",
        "ledger.view_shipment",
    ],
    "salesperson": [
        "credit.add_creditlimit",
        "credit.add_creditoverride",
        "credit.change_creditinvestigation",
        "credit.view_credit_report",
        "credit.view_creditinvestigation",
        "credit.view_creditlimit",
        "credit.view_creditoverride",
        "credit.view_creditrating",
        "credit.view_creditround",
        "ledger.add_order",
        "ledger.add_pricecoefficient",
        "ledger.add_shipment",
        "ledger.change_order",
        "ledger.view_customerterms",
        "ledger.view_order",
        "ledger.view_payment",
        "ledger.view_pricecoefficient",
        "ledger.view_shipment",
    ],
    "supervisor": [
        "credit.add_creditlimit",
        "credit.add_creditoverride",
        "credit.change_creditinvestigation",
        "credit.view_credit_report",
        "credit.view_creditinvestigation",
        "credit.view_creditlimit",
        "credit.view_creditoverride",
        "credit.view_creditrating",
        "credit.view_creditround",
        "ledger.add_pricecoefficient",
        "ledger.view_customerterms",
        "ledger.view_order",
        "ledger.view_payment",
        "ledger.view_pricecoefficient",
        "ledger.view_shipment",
    ],
}


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.extend(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    return found


def grant(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    roles = {role.code: role for role in Role.objects.filter(code__in=GRANTS)}
    if not roles:
        return
    for label in ("ledger", "credit"):
        create_permissions(
            global_apps.get_app_config(label),
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
        ("credit", "0001_initial"),
        ("ledger", "0001_initial"),
        ("org", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
