"""Admin console: the SAML identity provider — what to give an SP (metadata URL, sign-in URL,
certificate), and the registered service providers: add one, disable one. District admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import NotFoundError, PolicyError, StaffForbidden
from badge_server.runtime import Runtime
from badge_server.sso.saml_config import entity_id_of, sso_url_of
from badge_server.sso.saml_providers import NewProvider, add_provider, disable_provider, list_providers
from badge_server.sso.signing_keys import active_key
from badge_server.staff_words import StaffMessage
from badge_server.store.models import StaffSession
from badge_server.store.sso_models import NameIdFormat
from badge_server.web.console.access import CurrentDistrictAdmin, DistrictAdminForm, actor
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.sso_pages import issuer_of
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/saml")


def _page(
    request: Request, db: Session, runtime: Runtime, record: StaffSession, status: int = 200, **values: object
) -> HTMLResponse:
    issuer = issuer_of(request, runtime)
    return render_page(
        request,
        "saml.html",
        record,
        status=status,
        metadata_url=entity_id_of(issuer),
        sso_url=sso_url_of(issuer),
        signed_out_url=f"{issuer}/signed-out",
        certificate=active_key(db, runtime.keys, runtime.settings, utcnow()).certificate_pem,
        providers=list_providers(db),
        nameid_formats=[f.value for f in NameIdFormat],
        **values,
    )


@router.get("", response_class=HTMLResponse)
def saml_page(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin) -> HTMLResponse:
    return _page(request, db, runtime, record)


@router.post("", response_class=HTMLResponse)
def add_service_provider(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: DistrictAdminForm,
    name: Annotated[str, Form()],
    entity_id: Annotated[str, Form()],
    acs_url: Annotated[str, Form()],
    nameid: Annotated[str, Form()] = NameIdFormat.EMAIL.value,
    slo_url: Annotated[str, Form()] = "",
    certificate: Annotated[str, Form()] = "",
    require_signed_requests: Annotated[bool, Form()] = False,
) -> Response:
    new = NewProvider(name, entity_id, acs_url, nameid, slo_url or None, certificate or None, require_signed_requests)
    try:
        with db.begin_nested():
            add_provider(db, new, actor=actor(record))
    except PolicyError as exc:
        return _page(request, db, runtime, record, status=400, error=str(exc), entry=new)
    return RedirectResponse("/staff/admin/saml", status_code=303)


@router.post("/{sp_id}/disable", response_class=HTMLResponse)
def disable(request: Request, sp_id: str, db: SessionDep, runtime: RuntimeDep, record: DistrictAdminForm) -> Response:
    try:
        provider = disable_provider(db, sp_id, actor=actor(record))
    except NotFoundError as exc:
        raise StaffForbidden() from exc
    return _page(
        request,
        db,
        runtime,
        record,
        message=StaffMessage(N_("%(name)s is disabled: no more sign-ins to it."), {"name": provider.name}),
    )
