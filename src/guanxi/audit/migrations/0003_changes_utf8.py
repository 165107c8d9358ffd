"""The history's JSON encoder (audit.models.ChangesEncoder): Python-side only, so the
database is left as it is (on SQLite a plain AlterField would copy the whole log into a
new table). Rows written before keep their escaped text; both read the same."""

from django.db import migrations, models

import guanxi.audit.models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="changes",
                    field=models.JSONField(
                        blank=True,
                        default=dict,
                        encoder=guanxi.audit.models.ChangesEncoder,
                        verbose_name="变更",
                    ),
                ),
            ],
        ),
    ]
