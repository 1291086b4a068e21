"""Substring search on PostgreSQL: trigram indexes on the searched columns, as Django's icontains queries
them (UPPER(col) LIKE UPPER('%…%')). Elsewhere (SQLite) nothing to do. Without the right to create the
pg_trgm extension the search still works, only slower: the migration says so and goes on."""

from django.db import migrations

COLUMNS = ("order_number", "customer_name", "customer_email", "ef_invoice_number")


def trigram_indexes_create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT trigram")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - a missing right must not stop the deploy
            cursor.execute("ROLLBACK TO SAVEPOINT trigram")
            print(f"\n  pg_trgm not available ({exc}); substring search works without its index.")
            return
        for column in COLUMNS:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS order_{column}_trgm ON orders_order "
                f"USING gin (UPPER({column}::text) gin_trgm_ops)"
            )


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f"DROP INDEX IF EXISTS order_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_webhook_requeue")]
    operations = [migrations.RunPython(trigram_indexes_create, trigram_indexes_drop)]
