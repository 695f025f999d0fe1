"""A roster import started from the console: it runs after the upload's answer, and a page shows
how far it got, then how it ended.

A district's first import takes minutes (tens of thousands of badges to issue); a browser left
waiting on one request that long shows nothing and may give up. So the upload answers at once
with the job's page, and the import reports its steps to the job's row (at most once a second:
each is a small write). The row lives in the database, so any server process can show it.
One import at a time: a second upload while one runs is refused, naming who started the first.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from badge_server.clock import utcnow
from badge_server.errors import PolicyError, RosterImportError, UploadRefused
from badge_server.keys import ServerKeys
from badge_server.roster import import_roster
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import RosterImportJob

log = logging.getLogger(__name__)

#: A job that has told nothing for this long stopped without finishing (the server restarted).
#: The longest silent step, working out a 50,000-student district's changes, takes under a minute.
SILENT_LIMIT = timedelta(minutes=10)
TELL_EVERY_SECONDS = 1.0


def running_job(db: Session) -> RosterImportJob | None:
    """The import running now, if any (one that went silent is not)."""
    return db.scalars(
        select(RosterImportJob)
        .where(RosterImportJob.status == "running", RosterImportJob.updated_at > utcnow() - SILENT_LIMIT)
        .order_by(RosterImportJob.started_at.desc())
    ).first()


def start_job(db: Session, *, started_by: str, source: str, preview: bool) -> RosterImportJob:
    """A new job's row, or :class:`PolicyError` while another import runs."""
    busy = running_job(db)
    if busy is not None:
        raise PolicyError(
            f"an import started by {busy.started_by} is still running; wait for it to finish, then upload again"
        )
    now = utcnow()
    job = RosterImportJob(
        started_by=started_by, started_at=now, updated_at=now, source=source, preview=preview, status="running"
    )
    db.add(job)
    db.flush()
    return job


def job_state(db: Session, job_id: str) -> RosterImportJob | None:
    """The job, with a silent one shown as stopped."""
    job = db.get(RosterImportJob, job_id)
    if job is not None and job.status == "running" and job.updated_at <= utcnow() - SILENT_LIMIT:
        job.status = "failed"
        job.result = {"message": "the import stopped without finishing (was the server restarted?); upload it again"}
    return job


class _JobProgress:
    """import_roster's progress, written to the job's row: each new step, and at most once a second."""

    def __init__(self, factory: sessionmaker[Session], job_id: str) -> None:
        self.factory, self.job_id = factory, job_id
        self._step, self._told_at = "", 0.0

    def __call__(self, step: str, done: int, total: int) -> None:
        if step == self._step and time.monotonic() - self._told_at < TELL_EVERY_SECONDS:
            return
        self._step, self._told_at = step, time.monotonic()
        self.record(step=step[:64], done=done, total=total)

    def record(self, **values: object) -> None:
        with transaction(self.factory) as db:
            db.execute(
                update(RosterImportJob).where(RosterImportJob.id == self.job_id).values(updated_at=utcnow(), **values)
            )


def run_job(
    factory: sessionmaker[Session],
    job_id: str,
    folder: Path,
    keys: ServerKeys,
    settings: Settings,
    *,
    actor: str,
    allow_mass_deactivation: bool,
) -> None:
    """Run the import of ``folder`` (removed afterwards) for the job, and record how it ended."""
    progress = _JobProgress(factory, job_id)
    with transaction(factory) as db:
        job = db.get(RosterImportJob, job_id)
        assert job is not None
        source, preview = job.source, job.preview
    try:
        report = import_roster(
            factory,
            folder,
            keys,
            settings,
            actor=actor,
            source=source,
            allow_mass_deactivation=allow_mass_deactivation,
            dry_run=preview,
            progress=progress,
        )
        progress.record(status="done", finished_at=utcnow(), result=report.as_dict())
    except RosterImportError as exc:
        problems = [asdict(problem) for problem in exc.problems[:500]]
        result = {"problems": problems, "count": len(exc.problems)}
        progress.record(status="problems", finished_at=utcnow(), result=result)
    except (UploadRefused, PolicyError) as exc:
        progress.record(status="refused", finished_at=utcnow(), result={"message": str(exc)})
    except Exception:
        log.exception("roster import job %s failed", job_id)
        message = (
            "the import stopped with an error (the server log has it): the roster is as it was, or imported with some "
            "badges still to issue, which the next import issues"
        )
        progress.record(status="failed", finished_at=utcnow(), result={"message": message})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
