"""Append-only rows written in bulk without the ORM's per-object work (no ids come back): the timeline lines
and outbound calls a worker attempt collected, in one multi-row INSERT each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# Rows per statement at most; fewer where the database takes fewer parameters at once (Django's SQLite: 999).
CHUNK = 500


def rows_insert(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` (values in the order of `fields`, each prepared as the ORM prepares it for saving)."""
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model_fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608 - names from the model
    one = "(" + ", ".join(["%s"] * len(model_fields)) + ")"
    limit = connection.features.max_query_params
    per_statement = min(CHUNK, limit // len(model_fields)) if limit else CHUNK
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [
            field.get_db_prep_save(value, connection)
            for row in chunk
            for field, value in zip(model_fields, row, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([one] * len(chunk)), params)
