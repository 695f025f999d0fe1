"""What several commands share: setting up a data directory and database, and printing to a file."""

from __future__ import annotations

from pathlib import Path

from badge_printing.sheets import PrintOptions
from badge_server import key_check
from badge_server.errors import ConfigError
from badge_server.keys import load_keys, write_new_key_file
from badge_server.ops.private_files import open_private
from badge_server.printing import PrintRequest, print_badges
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import make_engine, make_session_factory, transaction
from badge_server.store.migrate import upgrade


def initialise(settings: Settings) -> list[str]:
    """Create the data directory, the server key (if none) and the schema; say what was done."""
    done = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file = settings.effective_secret_key_file
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        if settings.secret_key is None and not key_file.exists():
            stored = key_check.stored_check(factory)
            if stored is not None:  # the key is lost or not mounted: a new one would orphan every badge
                raise ConfigError(key_check.wrong_key_message(settings, stored, None))
            write_new_key_file(key_file)
            done.append(f"created server key {key_file} (mode 0600; back it up: badges cannot be reprinted without it)")
        keys = load_keys(settings)
        key_check.refuse_other_key(factory, keys, settings)
        key_check.record_check(factory, keys)
    finally:
        engine.dispose()
    done.append(f"database schema is current ({engine.url.render_as_string(hide_password=True)})")
    return done


def write_badge_pdf(
    settings: Settings,
    request: PrintRequest,
    template_name: str,
    output: Path,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    *,
    actor: str,
) -> int:
    """Print to ``output`` all or nothing: the PDF appears and the prints are recorded together."""
    partial = output.with_name(output.name + ".partial")
    runtime = Runtime.start(settings)
    try:
        with transaction(runtime.factory) as session, open_private(partial) as handle:
            count = print_badges(
                session,
                runtime.keys,
                request,
                template_name,
                handle,
                PrintOptions(offset_x_mm=offset_x, offset_y_mm=offset_y),
                actor=actor,
            )
        partial.replace(output)
        return count
    finally:
        partial.unlink(missing_ok=True)
        runtime.engine.dispose()
