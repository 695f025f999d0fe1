"""Core statements run on the database driver's own cursor, for the morning rush's few statements.

SQLAlchemy runs a cached Core statement in about 30 us (an execution context, a result object,
its rows); SQLite does the work of one of the exchange's in about 7 (benchmarks/README.md). A
:class:`DriverStatement` is the same Core statement, compiled by SQLAlchemy once per dialect and
run straight on the cursor of the connection's current transaction, with the statement's own
types converting parameters and results (dates on SQLite, JSON), so its rows read as Core's do.
Nothing else changes: the transaction, its begin and commit, stay SQLAlchemy's.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from badge_server.store.db import READ_ONLY, Executor

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the parameters' order for a positional driver (SQLite); None: by name
    defaults: Mapping[str, Any]  # values the statement carries itself (``count + 1``)
    binds: Mapping[str, Processor]
    row: Any  # a namedtuple class named as the statement's result columns
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, its processor) where it has one


class DriverStatement:
    """A Core statement run on the driver's cursor (see the module). Only statements that need
    nothing from SQLAlchemy's execution at run time: every value a parameter or a literal, no
    Python-side column defaults (an INSERT gives every column it sets), no expanding ``IN``."""

    def __init__(self, statement: ClauseElement, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.columns = list(columns) if columns is not None else None  # an INSERT's: exactly these
        self.writes = bool(getattr(statement, "is_dml", False))
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, db: Executor, parameters: Mapping[str, Any]) -> list[Any]:
        """Every row the statement answers (RETURNING included), as named tuples."""
        connection = _connection(db)
        if self.writes and connection.get_execution_options().get(READ_ONLY):
            raise RuntimeError("a read-only transaction tried to write")
        compiled = self._compiled_for(connection.dialect)
        values = dict(compiled.defaults)
        for name, value in parameters.items():
            process = compiled.binds.get(name)
            values[name] = process(value) if process is not None else value
        arguments: Sequence[Any] | Mapping[str, Any]
        arguments = values if compiled.names is None else [values[name] for name in compiled.names]
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, arguments)
            fetched = cursor.fetchall() if cursor.description is not None else []
        except connection.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy raises it (an OperationalError for a locked or lost database), so the
            # error handlers answer it the same way.
            raise DBAPIError.instance(compiled.sql, arguments, exc, connection.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
        make = compiled.row._make
        if not compiled.results:
            return [make(found) for found in fetched]
        rows = []
        for found in fetched:
            columns = list(found)
            for index, process in compiled.results:
                columns[index] = process(columns[index])
            rows.append(make(columns))
        return rows

    def first(self, db: Executor, parameters: Mapping[str, Any]) -> Any | None:
        """The first row, or ``None``."""
        found = self.rows(db, parameters)
        return found[0] if found else None

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect, self.columns)
        return compiled


def _compile(statement: ClauseElement, dialect: Dialect, columns: list[str] | None) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=columns)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params:
        raise ValueError(f"a driver statement needs every value given, not computed at run time: {compiled.string}")
    if compiled.post_compile_params:
        raise ValueError(f"a driver statement cannot expand parameters at run time: {compiled.string}")
    binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
    given = set(columns or ())
    defaults = {
        name: binds[name](bind.value) if binds[name] is not None else bind.value
        for name, bind in compiled.binds.items()
        if bind.value is not None and name not in given and not bind.required
    }
    keys = [column[0] for column in compiled._result_columns]
    return _Compiled(
        sql=compiled.string,
        names=tuple(compiled.positiontup) if compiled.positiontup is not None else None,
        defaults=defaults,
        binds=binds,
        row=namedtuple("Row", keys),
        results=tuple(
            (index, process)
            for index, process in enumerate(
                column[3].dialect_impl(dialect).result_processor(dialect, None) for column in compiled._result_columns
            )
            if process is not None
        ),
    )


def _connection(db: Executor) -> Connection:
    """The connection of the caller's transaction. A Session's pending objects are not flushed
    first, as a Core statement on a table does not flush them either."""
    return db if isinstance(db, Connection) else db.connection()
