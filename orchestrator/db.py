"""SQLAlchemy engine and sessions; SQLite gets WAL and a busy timeout for many processes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

import orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Engine,
    Integer,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    event,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from orchestrator.settings import get_settings

AnySelect: TypeAlias = Select[*tuple[Any, ...]]
"""A SELECT of any columns (one `insert_selected` reads)."""


@dataclass(frozen=True)
class JsonText:
    """A JSON column's value given as the document's text, stored as it is by `insert_many`
    (a webhook's body, already parsed and checked: serialising the parsed value again would
    cost more than parsing it). A column holding one in the first row is bound as text in
    every row (each row's value there a JsonText, or JSON-serialisable)."""

    text: str


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_deserializer=load_json
    )


def load_json(
    text: str | bytes,
    parse_constant: Callable[[str], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """A JSON document (a JSON column's value, a webhook's body): orjson, several times faster
    than the standard library (the 900 plan summaries and upstream lists of a page of
    pipelines), and the standard library wherever the two could differ: orjson reads an
    integer past 64 bits as a float and refuses what the standard library accepts beyond the
    RFC (NaN, which `parse_constant` may refuse in turn, other encodings than UTF-8) and a
    number beyond a float (1e400, which `parse_float` may refuse)."""
    if not _LONG_NUMBER.search(text if isinstance(text, bytes) else text.encode()):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=parse_constant, parse_float=parse_float)


_LONG_NUMBER = re.compile(rb"\d{19}")
"""19 digits in a row: a number int64 may not hold (shorter ones always fit)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def database_answers() -> bool:
    """Whether the database answers a `SELECT 1` now (readiness)."""
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_many(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
    skip_conflicts_on: Sequence[str] = (),
) -> list[Any]:
    """Insert many rows in one statement; the `returning` columns of each row inserted, in
    the rows' order. With `skip_conflicts_on`, a row clashing on that unique key is skipped.

    On PostgreSQL the rows go as one array per column through `unnest` (a few placeholders,
    however many rows: a drift tick inserts thousands); elsewhere as an executemany."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _insert_unnest(session, table, rows, returning, skip_conflicts_on)
    texts = tuple(name for name, value in rows[0].items() if isinstance(value, JsonText))
    if texts:  # bound as the text they are, not serialised again
        rows = [{**row, **{name: _json_text(row[name]) for name in texts}} for row in rows]
    statement = _sqlite_insert(table, texts, tuple(skip_conflicts_on), tuple(returning))
    if not returning:
        session.execute(statement, list(rows))
        return []
    return list(session.execute(statement, list(rows)).all())


@lru_cache(maxsize=64)
def _sqlite_insert(
    table: Table,
    texts: tuple[str, ...],
    skip_conflicts_on: tuple[str, ...],
    returning: tuple[str, ...],
) -> Any:
    """insert_many's statement off PostgreSQL, built once per shape: the `texts` columns bound
    as text (JsonText), clashes on `skip_conflicts_on` skipped, the `returning` columns."""
    statement: Any = sqlite_insert(table)
    if texts:
        statement = statement.values({name: bindparam(name, type_=Text()) for name in texts})
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        ordered = not skip_conflicts_on
        columns = [table.c[name] for name in returning]
        statement = statement.returning(*columns, sort_by_parameter_order=ordered)
    return statement


def _insert_unnest(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
    skip_conflicts_on: Sequence[str],
) -> list[Any]:
    names = list(rows[0])
    picks, arrays, aliases, params = _columns_as_arrays(session, table, names, rows)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(picks)} FROM unnest({', '.join(arrays)}) "
        f"WITH ORDINALITY AS u({', '.join(aliases)}, ordinal) ORDER BY u.ordinal"
    )
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
    if not returning:
        session.execute(text(sql), params)
        return []
    return list(session.execute(text(f"{sql} RETURNING {', '.join(returning)}"), params).all())


def insert_selected(
    session: Session,
    table: Table,
    columns: Sequence[str],
    source: AnySelect,
    skip_conflicts_on: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[Any]:
    """`INSERT INTO table (columns) SELECT …`: the rows of `source` inserted without leaving
    the database; with `skip_conflicts_on`, a row clashing on that unique key is skipped. The
    `returning` columns of each row inserted."""
    dialect = session.get_bind().dialect.name
    statement: Any = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = statement.from_select(list(columns), source)
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if not returning:
        session.execute(statement)
        return []
    return list(session.execute(statement.returning(*(table.c[n] for n in returning))).all())


def one_of(
    session: Session, column: ColumnElement[int] | InstrumentedAttribute[int], values: Sequence[int]
) -> ColumnElement[bool]:
    """`column IN values` for many integers (a tick's 50,000 checks): one array parameter on
    PostgreSQL, whose planner then knows how many rows to expect; elsewhere the numbers are
    written into the statement (SQLite allows 32,766 parameters)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(Integer)))
    return column.in_(bindparam("one_of", list(values), expanding=True, literal_execute=True))


def update_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Update many rows by primary key `id`, each row setting the same columns: one statement
    through `unnest` on PostgreSQL, an executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        keys = [name for name in rows[0] if name != "id"]
        statement = (
            table.update()
            .where(table.c.id == bindparam("key_id"))
            .values({name: bindparam(f"key_{name}") for name in keys})
        )
        session.execute(statement, [{f"key_{k}": v for k, v in row.items()} for row in rows])
        return
    names = ["id", *(name for name in rows[0] if name != "id")]
    picks, arrays, aliases, params = _columns_as_arrays(session, table, names, rows)
    sets = ", ".join(f"{name} = {pick}" for name, pick in list(zip(names, picks, strict=True))[1:])
    sql = (
        f"UPDATE {table.name} AS t SET {sets} "
        f"FROM unnest({', '.join(arrays)}) AS u({', '.join(aliases)}) WHERE t.id = {picks[0]}"
    )
    session.execute(text(sql), params)


def _columns_as_arrays(
    session: Session, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """For `unnest`: (how to read each column, the arrays, their aliases, the parameters).
    A column with one value in every row goes as one parameter, not an array; JSON travels
    as text."""
    dialect = session.get_bind().dialect
    picks: list[str] = []
    arrays: list[str] = []
    aliases: list[str] = []
    params: dict[str, Any] = {}
    for index, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        is_json = isinstance(column.type, JSON)
        kind = "TEXT" if is_json else column.type.compile(dialect)
        constant = all(v == values[0] for v in values) and (arrays or index < len(names) - 1)
        if is_json:  # one dump when every row holds the same value (`[]` in each new run)
            values = [_json_text(v) for v in (values[:1] if constant else values)]
        if constant:
            params[f"p{index}"] = values[0]
            read = f"CAST(:p{index} AS {kind})"
        else:
            params[f"p{index}"] = values
            arrays.append(f"CAST(:p{index} AS {kind}[])")
            aliases.append(f"c{index}")
            read = f"u.c{index}"
        picks.append(f"CAST({read} AS JSON)" if is_json else read)
    return picks, arrays, aliases, params


def _json_text(value: Any) -> str | None:
    if isinstance(value, JsonText):
        return value.text
    return None if value is None else json.dumps(value)
