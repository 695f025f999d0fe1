"""Admin console: single sign-on — the URLs and certificate app vendors and Google Admin need,
the signing keys (rotate), and the OIDC clients (register with the secret shown once, disable).
District admins only: an app registered here can learn every student's name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from badge_server import catalog
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import SsoRegistrationRefused
from badge_server.runtime import Runtime
from badge_server.sso import oidc_clients, signing_keys
from badge_server.sso.claims import SUPPORTED_SCOPES
from badge_server.staff_words import StaffMessage
from badge_server.store.models import StaffSession
from badge_server.web.console.access import CurrentDistrictAdmin, DistrictAdminForm, actor
from badge_server.web.deps import RuntimeDep, SessionDep
from badge_server.web.sso_pages import issuer_of
from badge_server.web.templating import render_page

router = APIRouter(prefix="/staff/admin/sso")


def _page(request: Request, db: Session, runtime: Runtime, record: StaffSession, **values: Any) -> HTMLResponse:
    now = utcnow()
    signing = signing_keys.ensure_signing_key(db, runtime.keys, runtime.settings, now)
    issuer = issuer_of(request, runtime)
    return render_page(
        request,
        "sso.html",
        record,
        status=values.pop("status", 200),
        issuer=issuer,
        discovery_url=f"{issuer}/.well-known/openid-configuration",
        jwks_url=f"{issuer}/oidc/jwks",
        signing=signing,
        keys=signing_keys.published_keys(db, now),
        now=now,
        clients=oidc_clients.list_clients(db),
        apps=catalog.all_apps(db),
        scopes=SUPPORTED_SCOPES,
        **values,
    )


@router.get("", response_class=HTMLResponse)
def sso_page(request: Request, db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin) -> HTMLResponse:
    return _page(request, db, runtime, record)


@router.get("/certificate.pem")
def certificate(db: SessionDep, runtime: RuntimeDep, record: CurrentDistrictAdmin) -> Response:
    """The signing certificate, as a file to upload to Google Admin's SSO profile."""
    key = signing_keys.ensure_signing_key(db, runtime.keys, runtime.settings, utcnow())
    return Response(
        key.certificate_pem,
        media_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="badge-sign-in.pem"'},
    )


@router.post("/rotate", response_class=HTMLResponse)
def rotate(request: Request, db: SessionDep, runtime: RuntimeDep, record: DistrictAdminForm) -> HTMLResponse:
    new = signing_keys.rotate(db, runtime.keys, runtime.settings, utcnow(), actor=actor(record))
    return _page(
        request,
        db,
        runtime,
        record,
        message=StaffMessage(
            N_(
                "A new signing key is published now and signs from %(at)s UTC. "
                "SAML apps that pin the certificate (Google Admin) need the new one before then."
            ),
            {"at": f"{new.signs_from:%Y-%m-%d %H:%M}"},
        ),
    )


@router.post("/clients", response_class=HTMLResponse)
def register_client(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    record: DistrictAdminForm,
    name: Annotated[str, Form(max_length=120)],
    redirect_uris: Annotated[str, Form(max_length=8000)],
    public: Annotated[bool, Form()] = False,
    initiate_login_uri: Annotated[str, Form(max_length=2048)] = "",
    backchannel_logout_uri: Annotated[str, Form(max_length=2048)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    app_id: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    try:
        made = oidc_clients.register_client(
            db,
            runtime.keys,
            name=name,
            redirect_uris=[line.strip() for line in redirect_uris.splitlines() if line.strip()],
            public=public,
            actor=actor(record),
            now=utcnow(),
            scopes=scopes or [],
            initiate_login_uri=initiate_login_uri.strip() or None,
            backchannel_logout_uri=backchannel_logout_uri.strip() or None,
            app_id=app_id or None,
        )
    except SsoRegistrationRefused as error:
        # add_client checks everything before it writes: the form comes back saying what was wrong.
        return _page(request, db, runtime, record, status=400, client_error=str(error), typed=dict(name=name))
    return _page(request, db, runtime, record, new_client=made.client, new_secret=made.secret)


@router.post("/clients/{client_id}/disable", response_class=HTMLResponse)
def disable_client(
    request: Request, client_id: str, db: SessionDep, runtime: RuntimeDep, record: DistrictAdminForm
) -> HTMLResponse:
    try:
        client = oidc_clients.disable_client(db, client_id, actor(record), utcnow())
    except SsoRegistrationRefused:
        return _page(
            request,
            db,
            runtime,
            record,
            status=404,
            client_error=StaffMessage(N_("There is no client %(id)r."), {"id": client_id}),
        )
    return _page(
        request,
        db,
        runtime,
        record,
        message=StaffMessage(N_("%(name)s is disabled: it can no longer sign anyone in."), {"name": client.name}),
    )
