"""Rows written without the ORM building each statement anew: the timeline lines and outbound calls a worker
attempt collected (multi-row INSERTs; no ids come back), the single-row UPDATEs and look-ups of the hot paths,
and independent writes sent to PostgreSQL as one statement (`writes_together`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from django.db import connection, models
from django.db.models.options import Options
from django.utils import timezone

# Rows per statement at most; fewer where the database takes fewer parameters at once (Django's SQLite: 999).
CHUNK = 500
# PostgreSQL's limit of parameters in one statement (a 16-bit count in its protocol).
POSTGRES_MAX_PARAMS = 65535


class Statement(NamedTuple):
    sql: str
    params: list[Any]
    table: str  # the one table it writes


def rows_insert_statements(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[Statement]:
    """INSERTs of `rows` (values in the order of `fields`, each prepared as the ORM prepares it for saving),
    as many rows each as the database takes parameters at once; run them with `writes_together`."""
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model_fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608 - names from the model
    one = "(" + ", ".join(["%s"] * len(model_fields)) + ")"
    limit = connection.features.max_query_params
    per_statement = min(CHUNK, limit // len(model_fields)) if limit else CHUNK
    statements = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [
            field.get_db_prep_save(value, connection)
            for row in chunk
            for field, value in zip(model_fields, row, strict=True)
        ]
        statements.append(Statement(head + ", ".join([one] * len(chunk)), params, meta.db_table))
    return statements


def row_update(
    model: type[models.Model],
    pk: int,
    values: Mapping[str, Any],
    *,
    when: Mapping[str, Any] | None = None,
    add_one: Sequence[str] = (),
) -> int:
    """`model.objects.filter(pk=pk, **when).update(**values)` for the hot paths, without the ORM building the
    statement anew each time (a quarter of a millisecond of CPU per UPDATE): values prepared as the ORM
    prepares them for saving, `add_one` fields incremented in the same statement, `when` as extra
    `column = value` conditions. Returns the number of rows changed (0 or 1)."""
    statement = row_update_statement(model, pk, values, when=when, add_one=add_one)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        return cursor.rowcount


def row_update_statement(
    model: type[models.Model],
    pk: int,
    values: Mapping[str, Any],
    *,
    when: Mapping[str, Any] | None = None,
    add_one: Sequence[str] = (),
) -> Statement:
    """The UPDATE of `row_update`, to run later (`writes_together`)."""
    meta = model._meta
    quote = connection.ops.quote_name
    assignments, params = [], []
    # An auto_now field (`updated_at`) moves with every write, as save() would move it.
    values = {**{f.name: timezone.now() for f in _auto_now_fields(meta) if f.name not in values}, **values}
    for name, value in values.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name in add_one:
        column = quote(meta.get_field(name).column)
        assignments.append(f"{column} = {column} + 1")
    for name, value in (when or {}).items():
        if value is None:
            raise ValueError(f"row_update: {name} = NULL never matches; say what the row must hold")
    conditions, condition_params = _equal(meta, {meta.pk.name: pk, **(when or {})})
    params += condition_params
    table = quote(meta.db_table)
    sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    return Statement(sql, params, meta.db_table)


def _auto_now_fields(meta: Options) -> list[models.DateTimeField]:
    return [f for f in meta.concrete_fields if isinstance(f, models.DateTimeField) and f.auto_now]


def writes_together(statements: Sequence[Statement]) -> None:
    """Run INSERTs and UPDATEs of different rows in as few round trips as the database allows: on PostgreSQL
    one statement (all but the last as data-modifying WITH queries, which PostgreSQL runs in full whether or
    not anything reads them); elsewhere one after another. The parts of one statement see the database as it
    was before it and run in no set order, so no part may depend on another's rows, and two writes to one
    table (a batch larger than one INSERT takes) go in separate statements, in their order."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for statement in statements:
                cursor.execute(statement.sql, statement.params)
            return
        for group in _groups(statements):
            *first, last = group
            params = [value for part in first for value in part.params] + last.params
            head = ", ".join(f"w{n} AS ({part.sql})" for n, part in enumerate(first))
            cursor.execute(f"WITH {head} {last.sql}" if first else last.sql, params)


def _groups(statements: Sequence[Statement]) -> list[list[Statement]]:
    """Consecutive statements, one table at most once and within PostgreSQL's parameter limit per group."""
    groups: list[list[Statement]] = []
    for statement in statements:
        group = groups[-1] if groups else None
        if (
            group is None
            or any(part.table == statement.table for part in group)
            or sum(len(part.params) for part in group) + len(statement.params) > POSTGRES_MAX_PARAMS
        ):
            groups.append([statement])
        else:
            group.append(statement)
    return groups


def row_insert_unless_exists(obj: models.Model, unique: Sequence[str]) -> bool:
    """INSERT the object's row unless one with the same `unique` fields exists: then nothing is written and
    False comes back. One statement (`ON CONFLICT … DO NOTHING RETURNING`): no savepoint to survive a
    conflict inside the caller's transaction. Fields are prepared as `save()` prepares them (auto_now)."""
    meta = obj._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in unique)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, connection.alias
    return True


# Types the database hands back as Python wants them, on PostgreSQL and SQLite alike (no converters).
_PLAIN = {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "PositiveIntegerField", "CharField"}


def row_value(model: type[models.Model], name: str, where: Mapping[str, Any]) -> Any:
    """`model.objects.filter(**where).values_list(name, flat=True).first()` for the hot paths, for numbers
    and short text (fields that need no conversion from the database); None when no row matches."""
    meta = model._meta
    quote = connection.ops.quote_name
    field = meta.get_field(name)
    if field.get_internal_type() not in _PLAIN:
        raise ValueError(f"row_value: {name} needs converting from the database; use the ORM")
    conditions, params = _equal(meta, where)
    sql = (
        f"SELECT {quote(field.column)} FROM {quote(meta.db_table)} "  # noqa: S608 - names from the model
        f"WHERE {' AND '.join(conditions)} ORDER BY {quote(meta.pk.column)} LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _equal(meta: Options, values: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """`column = %s` conditions for field values, and their parameters as the database takes them."""
    quote = connection.ops.quote_name
    conditions, params = [], []
    for name, value in values.items():
        field = meta.get_field(name)
        conditions.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    return conditions, params
