""" "Who am I?" over SAML: the demo app's second way in, as a SAML 2.0 service provider.

Built on pysaml2's service-provider client (the server is the identity provider): it reads the
server's metadata, starts a sign-in with an AuthnRequest (HTTP-Redirect) or accepts one the
server sends unasked (a dashboard tile: IdP-initiated), and checks the signed response — the
signatures against the metadata's certificate, audience, recipient, validity — before it
believes the NameID and attributes. ``badge-server demo`` registers it (persistent NameID).
"""

from __future__ import annotations

import html
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_PERSISTENT

from badge_server.ops.demo_app import PREFIX, claims_table, page
from badge_server.sso.saml_config import entity_id_of, xmlsec_binary

SAML_PREFIX = f"{PREFIX}/saml"
COOKIE = "demo_app_saml_session"


def sp_entity_id(issuer: str) -> str:
    return f"{issuer}{SAML_PREFIX}/metadata"


def acs_url(issuer: str) -> str:
    return f"{issuer}{SAML_PREFIX}/acs"


class DemoSamlApp:
    """The service provider's state: requests it sent (by id) and signed-in browsers."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.outstanding: dict[str, str] = {}
        self.signed_in: dict[str, dict[str, Any]] = {}

    def client(self) -> Saml2Client:
        # The IdP's metadata is read for every sign-in, so a rotated certificate is picked up.
        metadata = httpx.get(entity_id_of(self.issuer), timeout=10)
        metadata.raise_for_status()
        config = SPConfig()
        config.load(
            {
                "entityid": sp_entity_id(self.issuer),
                "xmlsec_binary": xmlsec_binary(),
                "metadata": {"inline": [metadata.text]},
                "allow_unknown_attributes": True,
                "service": {
                    "sp": {
                        "endpoints": {"assertion_consumer_service": [(acs_url(self.issuer), BINDING_HTTP_POST)]},
                        "allow_unsolicited": True,  # a dashboard tile signs in IdP-initiated
                        "authn_requests_signed": False,
                        "want_response_signed": True,
                        "want_assertions_signed": True,
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    }
                },
            }
        )
        return Saml2Client(config)

    def start(self) -> str:
        """The server's SSO URL carrying a new AuthnRequest (HTTP-Redirect binding)."""
        request_id, info = self.client().prepare_for_authenticate(
            entityid=entity_id_of(self.issuer), binding=BINDING_HTTP_REDIRECT
        )
        self.outstanding[request_id] = f"{SAML_PREFIX}/"
        location: str = dict(info["headers"])["Location"]
        return location

    def finish(self, saml_response: str) -> dict[str, Any]:
        """Check the signed response; the NameID and attributes it vouches for."""
        answer = self.client().parse_authn_request_response(saml_response, BINDING_HTTP_POST, self.outstanding)
        if answer is None:
            raise ValueError("the response did not pass the checks")
        self.outstanding.pop(answer.in_response_to or "", None)
        return {"name_id": answer.name_id.text, "issuer": answer.issuer(), "attributes": answer.ava}


def demo_saml_router(app: DemoSamlApp) -> APIRouter:
    router = APIRouter(prefix=SAML_PREFIX, include_in_schema=False)

    @router.get("/")
    def home(request: Request) -> Response:
        signed_in = app.signed_in.get(request.cookies.get(COOKIE, ""))
        if signed_in is None:
            return page(
                "Who am I? (SAML)",
                "<h1>Who am I? (SAML)</h1><p>A demo app. It knows you only after the badge server signs you in.</p>"
                f"<p><a href='{SAML_PREFIX}/login'>Sign in with my badge</a></p>",
            )
        attributes = {key: values[0] if len(values) == 1 else values for key, values in signed_in["attributes"].items()}
        name = attributes.get("displayName") or attributes.get("name") or signed_in["name_id"]
        return page(
            "Who am I? (SAML)",
            f"<h1>Signed in as {html.escape(str(name))}</h1><h2>The signed SAML response said</h2>"
            + claims_table({"NameID": signed_in["name_id"], "Issuer": signed_in["issuer"], **attributes}),
        )

    @router.get("/login")
    def login() -> RedirectResponse:
        return RedirectResponse(app.start(), status_code=303)

    @router.post("/acs")
    def assertion_consumer(saml_response: str = Form(alias="SAMLResponse", max_length=200_000)) -> Response:
        try:
            claims = app.finish(saml_response)
        except Exception as exc:  # pysaml2 raises many kinds; the page says which
            return page(
                "Who am I? (SAML)",
                f"<h1>Not signed in</h1><p>{html.escape(type(exc).__name__)}: {html.escape(str(exc))[:300]}</p>",
            )
        browser = secrets.token_urlsafe(24)
        app.signed_in[browser] = claims
        response = RedirectResponse(f"{SAML_PREFIX}/", status_code=303)
        response.set_cookie(COOKIE, browser, httponly=True, samesite="lax", path=PREFIX)
        return response

    return router
