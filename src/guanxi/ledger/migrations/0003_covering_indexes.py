"""Covering indexes on the ledger: the per-customer figures (ageing, timeliness, credit
ratings, grading, the recompute) read a range of customers in customer and date order
from the index alone; ledger rows arrive in time order, so a range's rows are otherwise
scattered over the whole table and each range re-reads most of it."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_list_cache_versions"),
        ("ledger", "0002_customermonth_shipped_count"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="payment",
            name="ledger_payment_cust_date_idx",
        ),
        migrations.RemoveIndex(
            model_name="shipment",
            name="ledger_shipment_cust_date_idx",
        ),
        migrations.AddIndex(
            model_name="customermonth",
            index=models.Index(
                fields=[
                    "customer",
                    "month",
                    "shipped_amount",
                    "shipped_cost",
                    "shipped_quantity",
                    "shipped_count",
                    "paid_amount",
                ],
                name="ledger_month_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                fields=["customer", "date", "id", "amount", "reversal_of"],
                name="ledger_payment_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(
                fields=["customer", "date", "id", "amount", "due_date", "reversal_of"],
                name="ledger_shipment_cover_idx",
            ),
        ),
    ]
