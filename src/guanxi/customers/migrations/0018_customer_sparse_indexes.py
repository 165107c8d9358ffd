"""Customer indexes that a new customer does not write to.

- owner_id and department_id: each had an index of its own beside the list's composite
  indexes (customer_owner_updated_idx, customer_dept_updated_idx), which lead with the
  same column and answer the same lookups. The single-column ones go.
- deleted_at, deleted_by_id and merged_into_id are empty on nearly every customer, yet
  every customer had an entry in each of their indexes. They are now partial indexes of
  the rows where the column is set: the recycle bin (deleted_at IS NOT NULL, newest
  first), a user's deletions and a survivor's merged-away customers read them as before
  (a comparison on the column implies it is set, so both databases use them), and filing
  a customer writes none of them.

The database side drops the old indexes by name, so SQLite does not copy the table into a
new one as its AlterField would (the same names on both databases).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The single-column indexes Django had made (index name, column), dropped here.
_DROPPED = (
    ("customers_customer_owner_id_fbb2798e", "owner_id"),
    ("customers_customer_department_id_738c8343", "department_id"),
    ("customers_customer_deleted_at_3fde6325", "deleted_at"),
    ("customers_customer_deleted_by_id_0493fee8", "deleted_by_id"),
    ("customers_customer_merged_into_id_2994ddb6", "merged_into_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0017_drop_pattern_indexes"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX IF EXISTS {name}" for name, _column in _DROPPED],
                    [
                        f'CREATE INDEX {name} ON "customers_customer" ("{column}")'
                        for name, column in _DROPPED
                    ],
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="deleted_at",
                    field=models.DateTimeField(blank=True, null=True, verbose_name="删除时间"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="deleted_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="删除人",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="org.department",
                        verbose_name="分支机构",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="merged_into",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="合并至",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_customers",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="负责人",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["-deleted_at"],
                name="customer_deleted_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("deleted_by__isnull", False)),
                fields=["deleted_by"],
                name="customer_deleted_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="customer_merged_into_idx",
            ),
        ),
    ]
