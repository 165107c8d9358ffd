"""CustomerMonth.shipped_count: shipments per customer and month (a reversal takes one off
the month of the shipment it reverses), filled set-based from the existing shipments. The
grading reads the shipment count of the last twelve months from it instead of scanning the
shipments."""

from django.db import migrations, models


def fill_counts(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        month, reversed_month = (f"CAST(date_trunc('month', {t}.date) AS date)" for t in ("e", "o"))
    else:
        month, reversed_month = (f"date({t}.date, 'start of month')" for t in ("e", "o"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE ledger_customermonth SET shipped_count = t.n
            FROM (
                SELECT customer_id, month, SUM(n) AS n
                FROM (
                    SELECT e.customer_id, {month} AS month, 1 AS n
                    FROM ledger_shipment e WHERE e.reversal_of_id IS NULL
                    UNION ALL
                    SELECT e.customer_id, {reversed_month}, -1
                    FROM ledger_shipment e JOIN ledger_shipment o ON o.id = e.reversal_of_id
                ) entries
                GROUP BY customer_id, month
            ) t
            WHERE t.n <> 0 AND t.customer_id = ledger_customermonth.customer_id
              AND t.month = ledger_customermonth.month
            """
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="customermonth",
            name="shipped_count",
            field=models.IntegerField(default=0, verbose_name="出货笔数"),
        ),
        migrations.RunPython(fill_counts, migrations.RunPython.noop),
    ]
