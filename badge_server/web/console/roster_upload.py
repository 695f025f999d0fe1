"""A roster upload in the console: the same all-or-nothing importer as the command line, run
after the answer (roster_jobs.py), with a page that shows its progress and then its report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.formparsers import MultiPartException

from badge_server.errors import PolicyError, StaffForbidden, UploadRefused
from badge_server.roster_files import ROSTER_FILES, unpack_roster
from badge_server.roster_jobs import job_state, run_job, start_job
from badge_server.web.console.access import CurrentDistrictAdmin, actor, check_csrf
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/roster")
#: How a finished job's page answers: its outcome, as the upload itself once answered.
STATUS = {"running": 200, "done": 200, "problems": 422, "refused": 400, "failed": 500}


async def _unpack_upload(files: list[StarletteUploadFile], target: Path) -> list[str]:
    """The upload's roster files (loose CSVs or one ZIP) into ``target``."""
    return unpack_roster([(upload.filename or "", await upload.read()) for upload in files], target)


@router.post("", response_class=HTMLResponse)
async def upload_roster(
    request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin
) -> Response:
    # No File() or Form() parameters: FastAPI would read (and spool to disk) the whole body to
    # fill them before any dependency ran, so an anonymous client could upload 100 MB. The
    # session is checked first (from the cookie), then the body is read and its CSRF token.
    folder = Path(tempfile.mkdtemp(prefix="roster-"))
    try:
        async with request.form(max_files=len(ROSTER_FILES)) as form:  # closes its temp files
            csrf = form.get("csrf")
            check_csrf(record.csrf_token, csrf if isinstance(csrf, str) else "")
            files = [f for f in form.getlist("files") if isinstance(f, StarletteUploadFile)]
            confirmed = form.get("allow_mass_deactivation") == "yes"
            preview = form.get("preview") == "yes"
            names = await _unpack_upload(files, folder)
        label = f"upload by {record.staff.username}: {', '.join(sorted(names))}"
        job = await run_in_threadpool(start_job, db, started_by=record.staff.username, source=label, preview=preview)
        # The job's row is committed before it starts, and this request's transaction (it checked
        # the staff session) ends first: on SQLite the import would wait on its writer lock.
        await run_in_threadpool(db.commit)
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, MultiPartException):
            refused = f"the upload is not readable ({exc.message})"
            return render_page(request, "roster_result.html", record, refused=refused, status=400)
        if isinstance(exc, UploadRefused | PolicyError):
            return render_page(request, "roster_result.html", record, refused=str(exc), status=400)
        raise
    # After the answer is sent: in a worker thread, so neither this request nor the event loop
    # waits for a district's import (minutes, for a first one).
    work = BackgroundTask(
        run_job,
        runtime.factory,
        job.id,
        folder,
        runtime.keys,
        runtime.settings,
        actor=actor(record),
        allow_mass_deactivation=confirmed,
    )
    return RedirectResponse(f"{router.prefix}/jobs/{job.id}", status_code=303, background=work)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def import_job(request: Request, db: SessionDep, record: CurrentDistrictAdmin, job_id: str) -> HTMLResponse:
    job = job_state(db, job_id)
    if job is None:
        raise StaffForbidden()
    result = job.result or {}
    return render_page(
        request,
        "roster_result.html",
        record,
        status=STATUS.get(job.status, 200),
        job=job,
        preview=job.preview,
        report=result if job.status == "done" else None,
        problems=result.get("problems"),
        problem_count=result.get("count", 0),
        refused=result.get("message") if job.status in ("refused", "failed") else None,
    )
