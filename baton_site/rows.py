"""Plain statements built from a model's metadata, for the paths that run hundreds of times a second.

The event bus (events and webhook deliveries), the webhook worker (attempt rows), the audit trail, storing a plan
and the engine's start/record/gate/complete paths read and write a few rows each inside the database's
single-writer window on SQLite. There the
ORM spent about three times as long compiling each statement in Python as the database spent running it, and every
writer in every process waited for that. These helpers write the same statements directly:
- identifiers come from the model's fields, every value goes through the field's own `get_db_prep_save` (the
  conversion the ORM applies; for the common plain values the same result is reached in one step, see
  `_preparer`) and is passed as a query parameter;
- values read back go through the converters the ORM would apply (backend's, then the field's `from_db_value`);
- model defaults, signals, `save()` and `auto_now` are not involved: callers pass every column they write.
Everything else uses the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.db import connections, models

ModelT = TypeVar("ModelT", bound=models.Model)

# SQLite before 3.32 allowed 999 parameters per statement; stay under it on every database.
MAX_PARAMETERS = 999


def _column(field: models.Field[Any, Any]) -> str:
    return field.column  # type: ignore[return-value]  # concrete fields have a column (checked in _fields)


@cache
def _fields(model: type[models.Model], names: tuple[str, ...]) -> list[models.Field[Any, Any]]:
    fields: list[models.Field[Any, Any]] = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field) or not field.concrete or field.column is None:
            raise TypeError(f"{model.__name__}.{name} is not a column")
        fields.append(field)
    return fields


@cache
def _preparers(model: type[models.Model], names: tuple[str, ...]) -> tuple[Preparer, ...]:
    """The named columns' value conversions, looked up once per column list (a field hashes in Python: looking
    each one up per value was 500 calls of `Field.__hash__` per lifecycle)."""
    return tuple(_preparer(field) for field in _fields(model, names))


def _prepared(preparers: Sequence[Preparer], values: Sequence[Any], connection: Any) -> list[Any]:
    """Values as query parameters, each through its field's own conversion (as the ORM does on save)."""
    return [prepare(value, connection) for prepare, value in zip(preparers, values, strict=True)]


# Field classes (exactly these, not subclasses) whose save conversion returns a value of this type unchanged.
_UNCHANGED: dict[type, type] = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.BooleanField: bool,
}
_AUTO_FIELDS = (models.AutoField, models.BigAutoField)

Preparer = Callable[[Any, Any], Any]


@cache
def _preparer(field: models.Field[Any, Any]) -> Preparer:
    """`field.get_db_prep_save`, with a shortcut for the plain values hot paths pass.

    `get_db_prep_save` goes through three or four layers (expression checks, `get_prep_value`, `to_python`) before
    the backend's adapter; with about 80 values per request that was 5% of a web process's time. For a value of the
    plain type each layer returns unchanged, the shortcut takes the step that changes something (or none); any
    other value takes the full path.
    """
    full = field.get_db_prep_save
    kind = type(field)
    plain = _UNCHANGED.get(kind)
    if plain is not None:
        return lambda value, connection: value if type(value) is plain else full(value, connection)
    if kind is models.JSONField:
        encoder = field.encoder  # type: ignore[attr-defined]

        def json_value(value: Any, connection: Any) -> Any:
            if type(value) is dict or type(value) is list:
                return connection.ops.adapt_json_value(value, encoder)
            return full(value, connection)

        return json_value
    if kind is models.DateTimeField:

        def datetime_value(value: Any, connection: Any) -> Any:
            if type(value) is datetime and value.tzinfo is not None:
                return connection.ops.adapt_datetimefield_value(value)
            return full(value, connection)

        return datetime_value
    if kind is models.ForeignKey and type(field.target_field) in _AUTO_FIELDS:  # type: ignore[attr-defined]

        def key_value(value: Any, connection: Any) -> Any:
            if type(value) is int:
                return connection.ops.validate_autopk_value(value)
            return full(value, connection)

        return key_value
    return full


def _equal(fields: Sequence[models.Field[Any, Any]], connection: Any, alias: str = "") -> str:
    """`col = %s AND ...` for the fields (columns prefixed with `alias.` when given)."""
    prefix = f"{alias}." if alias else ""
    return " AND ".join(f"{prefix}{connection.ops.quote_name(_column(field))} = %s" for field in fields)


@cache
def can_return_rows(using: str = "default") -> bool:
    """Whether `insert(..., returning=...)` works here (PostgreSQL; SQLite from 3.35): fixed for a process."""
    return bool(connections[using].features.can_return_rows_from_bulk_insert)


def insert(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """INSERT `rows` (values in the order of `names`) into the model's table, in as few statements as the
    parameter limit allows. With `returning`, the listed columns of the new rows, in no promised order (match
    them on a unique column)."""
    if not rows:
        return []
    connection = connections[using]
    names, returning = tuple(names), tuple(returning)
    preparers = _preparers(model, names)
    if returning and not can_return_rows(using):
        raise NotImplementedError("this database cannot return rows from an INSERT")
    per_statement = max(1, MAX_PARAMETERS // len(preparers))
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [param for row in chunk for param in _prepared(preparers, row, connection)]
            cursor.execute(_insert_statement(model, names, len(chunk), returning, using), params)
            if returning:
                out.extend(tuple(row) for row in cursor.fetchall())
    return out


@lru_cache(maxsize=256)
def _insert_statement(
    model: type[models.Model], names: tuple[str, ...], count: int, returning: tuple[str, ...], using: str
) -> str:
    """`INSERT INTO table (columns) VALUES (%s, ...), ... [RETURNING ...]` for `count` rows (the same few texts
    over and over: hot paths insert one to a few rows)."""
    quote = connections[using].ops.quote_name
    fields = _fields(model, names)
    columns = ", ".join(quote(_column(field)) for field in fields)
    back = " RETURNING " + ", ".join(quote(name) for name in returning) if returning else ""
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * count)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values}{back}"  # noqa: S608 (identifiers)


def create(instance: ModelT, *, using: str = "default") -> ModelT:
    """Store an instance built in Python, as `Model.objects.create(...)` would (its defaults filled in by the
    constructor, each column through its field's `pre_save`, so `auto_now` fields are stamped), in one plain
    `INSERT ... RETURNING` of its id, without compiling it; no `save()` or signals. Where the database cannot
    return rows, `save()` does it."""
    model = type(instance)
    if not can_return_rows(using):
        instance.save(force_insert=True, using=using)
        return instance
    names = tuple(field.name for field in model._meta.concrete_fields if not field.primary_key)
    ((pk,),) = insert(
        model,
        names,
        [[field.pre_save(instance, True) for field in _fields(model, names)]],
        returning=(_column(model._meta.pk),),
        using=using,
    )
    attach(instance, pk, using)
    return instance


def attach(instance: models.Model, pk: Any, using: str = "default") -> models.Model:
    """Mark an instance built in Python as the stored row `pk` (as `save()` would have left it)."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = using
    return instance


def update(
    model: type[models.Model], changes: dict[str, Any], *, using: str = "default", **where: Any
) -> int:
    """UPDATE the model's table: set `changes` on the rows whose columns equal every `where` value (field names;
    a foreign key by its `_id` name). Returns the number of rows changed. `auto_now` fields are not touched
    unless named in `changes`."""
    connection = connections[using]
    setting, matching = tuple(changes), tuple(where)
    params = _prepared(_preparers(model, setting), list(changes.values()), connection)
    params += _prepared(_preparers(model, matching), list(where.values()), connection)
    with connection.cursor() as cursor:
        cursor.execute(_update_statement(model, setting, matching, using), params)
        return int(cursor.rowcount)


@lru_cache(maxsize=1024)
def _update_statement(
    model: type[models.Model], setting: tuple[str, ...], matching: tuple[str, ...], using: str
) -> str:
    connection = connections[using]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in _fields(model, setting))
    conditions = _equal(_fields(model, matching), connection)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608 (identifiers)


@cache
def _converters(model: type[models.Model], names: tuple[str, ...], using: str) -> list[tuple[Any, list[Any]]]:
    """Each column with the converters the ORM would apply to its value as read (backend's, then the field's)."""
    connection = connections[using]
    out = []
    for field in _fields(model, names):
        column = field.get_col(model._meta.db_table)
        out.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
    return out


def _converted(row: Sequence[Any], converters: list[tuple[Any, list[Any]]], connection: Any) -> list[Any]:
    item = list(row)
    for index, (column, chain) in enumerate(converters):
        for converter in chain:
            item[index] = converter(item[index], column, connection)
    return item


def _build(
    model: type[models.Model], names: tuple[str, ...], values: Sequence[Any], using: str
) -> models.Model:
    converted = _converted(values, _converters(model, names, using), connections[using])
    return model.from_db(using, [field.attname for field in _fields(model, names)], converted)


def fetch_locked(
    model: type[models.Model],
    related: str,
    related_names: Sequence[str],
    *,
    for_update: bool = True,
    using: str = "default",
    **where: Any,
) -> models.Model | None:
    """The one row matching `where` (equality on unique columns), every column loaded, with its `related`
    foreign-key target joined and loaded with only `related_names` (the rest deferred), locked for update where
    the database has row locks (on SQLite the caller's IMMEDIATE transaction holds the database). What
    `select_for_update().select_related(related).only(...)` reads, without compiling the query on every call.
    With `for_update=False`, the same read without the lock (`select_related(...).only(...)`)."""
    connection = connections[using]
    matching = tuple(where)
    statement, target, own, theirs = _locked_statement(
        model, related, tuple(related_names), matching, for_update, using
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, _prepared(_preparers(model, matching), list(where.values()), connection))
        row = cursor.fetchone()
    if row is None:
        return None
    instance = _build(model, own, row[: len(own)], using)
    setattr(instance, related, _build(target, theirs, row[len(own) :], using))
    return instance


@lru_cache(maxsize=256)
def _locked_statement(
    model: type[models.Model],
    related: str,
    related_names: tuple[str, ...],
    matching: tuple[str, ...],
    for_update: bool,
    using: str,
) -> tuple[str, type[models.Model], tuple[str, ...], tuple[str, ...]]:
    """`fetch_locked`'s statement, the related model, and the names of the columns it reads from each table."""
    connection = connections[using]
    quote = connection.ops.quote_name
    own = tuple(field.name for field in model._meta.concrete_fields)
    link = model._meta.get_field(related)
    if not isinstance(link, models.ForeignKey):
        raise TypeError(f"{model.__name__}.{related} is not a foreign key")
    target: type[models.Model] = link.related_model
    theirs = tuple(dict.fromkeys([target._meta.pk.name, *related_names]))
    columns = [f"a.{quote(_column(field))}" for field in _fields(model, own)]
    columns += [f"b.{quote(_column(field))}" for field in _fields(target, theirs)]
    statement = (
        f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} a "  # noqa: S608 (identifiers only)
        f"INNER JOIN {quote(target._meta.db_table)} b ON b.{quote(_column(link.target_field))} = a.{quote(_column(link))} "
        f"WHERE {_equal(_fields(model, matching), connection, 'a')}"
    )
    if for_update and connection.features.has_select_for_update:
        statement += " FOR UPDATE"
    return statement, target, own, theirs


def values(
    model: type[models.Model],
    names: Sequence[str],
    *,
    order_by: Sequence[str] = ("id",),
    above: tuple[str, Any] | None = None,
    using: str = "default",
    **where: Any,
) -> list[tuple[Any, ...]]:
    """`model.objects.filter(**where).order_by(*order_by).values_list(*names)` (equality tests, ascending
    order), without compiling it. `above=(name, value)` adds `name > value` (`filter(name__gt=value)`)."""
    connection = connections[using]
    wanted, matching = tuple(names), tuple(where)
    parameters = _prepared(_preparers(model, matching), list(where.values()), connection)
    if above is not None:
        parameters += _prepared(_preparers(model, (above[0],)), [above[1]], connection)
    statement = _select_statement(
        model, wanted, matching, None if above is None else above[0], tuple(order_by), using
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        found = cursor.fetchall()
    converters = _converters(model, wanted, using)
    if not any(chain for _, chain in converters):
        return [tuple(row) for row in found]
    return [tuple(_converted(row, converters, connection)) for row in found]


@lru_cache(maxsize=1024)
def _select_statement(
    model: type[models.Model],
    wanted: tuple[str, ...],
    matching: tuple[str, ...],
    above: str | None,
    order_by: tuple[str, ...],
    using: str,
) -> str:
    connection = connections[using]
    quote = connection.ops.quote_name
    selected = ", ".join(quote(_column(field)) for field in _fields(model, wanted))
    tests = [_equal(_fields(model, matching), connection)] if matching else []
    if above is not None:
        (bound,) = _fields(model, (above,))
        tests.append(f"{quote(_column(bound))} > %s")
    if not tests:
        raise TypeError("values() needs at least one condition")
    statement = f"SELECT {selected} FROM {quote(model._meta.db_table)} WHERE {' AND '.join(tests)}"  # noqa: S608
    if order_by:
        statement += " ORDER BY " + ", ".join(quote(_column(field)) for field in _fields(model, order_by))
    return statement


def stamp(model: type[models.Model], name: str, *, using: str = "default") -> tuple[Any, ...]:
    """`(row count, highest primary key, highest value of column name)` of the model's table, as the database
    returns them (for telling whether rows were added or removed since the last look, by equality)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    pk, field = _fields(model, (model._meta.pk.name, name))
    statement = (
        f"SELECT COUNT(*), MAX({quote(_column(pk))}), MAX({quote(_column(field))}) "  # noqa: S608 (identifiers only)
        f"FROM {quote(model._meta.db_table)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return tuple(cursor.fetchone())


def lock(model: type[models.Model], *, using: str = "default", **where: Any) -> bool:
    """Lock the rows whose columns equal every `where` value for the caller's transaction, where the database has
    row locks (`SELECT ... FOR UPDATE`; on SQLite the caller's IMMEDIATE transaction holds the database and this
    only reads). Whether any row matched."""
    connection = connections[using]
    quote = connection.ops.quote_name
    matching = tuple(where)
    conditions = _equal(_fields(model, matching), connection)
    statement = f"SELECT 1 FROM {quote(model._meta.db_table)} WHERE {conditions}"  # noqa: S608
    if connection.features.has_select_for_update:
        statement += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(statement, _prepared(_preparers(model, matching), list(where.values()), connection))
        return cursor.fetchone() is not None


def one(model: type[ModelT], *, using: str = "default", **where: Any) -> ModelT | None:
    """`model.objects.filter(**where).first()` for a look-up on unique columns: the row with every column
    loaded, or None, without compiling a query."""
    names = tuple(field.name for field in model._meta.concrete_fields)
    found = values(model, names, order_by=(), using=using, **where)
    if not found:
        return None
    return model.from_db(using, [field.attname for field in _fields(model, names)], found[0])


def find(model: type[ModelT], *, using: str = "default", **where: Any) -> ModelT | None:
    """The row whose columns equal every `where` value (a unique column), or None: `one` under the name the
    write paths use when they look for a row about to be written for the first time."""
    return one(model, using=using, **where)
