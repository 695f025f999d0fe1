"""Letters home from the console: the whole class's, or one student's (PDF downloads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from badge_printing.letters import render_letters
from badge_server.errors import NotFoundError, PolicyError
from badge_server.letters import LetterRequest, build_letters
from badge_server.web.console.access import ClassForm, CurrentStaff, StudentForm, actor
from badge_server.web.console.classes import pdf_download
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.sso_pages import issuer_of
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff")
PageSize = Annotated[str, Form(pattern="^(letter|a4)$")]


def _letters(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    what: LetterRequest,
    size: str,
    title: str,
) -> Response:
    try:
        # Refusals (a student without a badge) come before anything is given or recorded.
        letters = build_letters(
            db, runtime.keys, runtime.settings, what, sign_in_url=issuer_of(request, runtime), actor=actor(record)
        )
    except (PolicyError, NotFoundError) as exc:
        return render_page(request, "error.html", record, status=409, message=str(exc))
    return pdf_download(render_letters(letters, size), f"Letters home – {title}", len(letters))


@router.post("/classes/{class_id}/letters")
def class_letters(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    school_class: ClassForm,
    page_size: PageSize = "letter",
) -> Response:
    return _letters(
        request, db, runtime, record, LetterRequest(class_id=school_class.id), page_size, school_class.title
    )


@router.post("/classes/{class_id}/students/{person_id}/letter")
def student_letter(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: CurrentStaff,
    seen: StudentForm,
    page_size: PageSize = "letter",
) -> Response:
    what = LetterRequest(person_id=seen.student.id)
    return _letters(request, db, runtime, record, what, page_size, seen.student.display_name)
