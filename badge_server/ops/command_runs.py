"""How every ``badge-server`` command runs: one unit of work, our errors as one line and exit
status 2, and output as text or (``--json``) as JSON for IT's scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from badge_server.errors import BadgeServerError
from badge_server.runtime import Runtime
from badge_server.store.db import transaction


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


def fail_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our own errors into a one-paragraph message and exit status 2, not a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BadgeServerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@contextmanager
def unit_of_work(ctx: click.Context) -> Iterator[tuple[Runtime, Session]]:
    """The server's keys and database for one command, in one transaction (rolled back on error)."""
    runtime = Runtime.start(ctx.obj)
    try:
        with transaction(runtime.factory) as session:
            yield runtime, session
    finally:
        runtime.engine.dispose()


class ImportProgress:
    """A long roster import's steps on stderr (stdout stays the report, or its JSON), and a bar
    while its badges are issued: a first import of a district issues tens of thousands."""

    def __init__(self) -> None:
        self._step = ""
        self._bar: Any = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if step != self._step:
            self._step = step
            if step != "issuing badges":
                click.echo(f"{step}...", err=True)
            elif total:
                self._bar = click.progressbar(length=total, label=step, file=sys.stderr, show_pos=True)
                self._bar.__enter__()
        if self._bar is not None:
            self._bar.update(done - self._bar.pos)

    def __enter__(self) -> ImportProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
