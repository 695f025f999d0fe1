"""The SAML 2.0 identity provider: AuthnRequests checked, signed Responses issued (on pysaml2).

An AuthnRequest is refused, with the reason on the audit row, when it is malformed, from an
unknown or disabled SP, names an ACS URL the SP did not register, lacks a valid signature the
SP promised, is stale, or was seen before. A response always goes to the registered ACS URL,
signed twice (Response and Assertion, RSA-SHA256), with InResponseTo, Audience = the SP's
entity id, Recipient = the ACS URL, NotOnOrAfter (``saml_response_seconds``) and a SessionIndex
that single logout names later.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.samlp import STATUS_NO_PASSIVE
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.errors import SsoRefused
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.sso.saml_config import CLOCK_SKEW_SECONDS, NAMEID_FORMATS, identity_provider
from badge_server.sso.saml_providers import enabled_provider, enabled_provider_by_entity_id
from badge_server.sso.saml_signing import signed_message
from badge_server.sso.signing_keys import active_key
from badge_server.sso.subjects import subject_of
from badge_server.store.models import Person, StudentSession
from badge_server.store.sso_models import NameIdFormat, SamlSeenRequest, SamlServiceProvider, SsoProtocol, SsoSignIn

# The child proved who they are with a badge: a smartcard-like token, not a password.
AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"
GOOGLE_ENTITY_IDS = ("google.com", "google.com/a/")
MAX_REQUEST_BYTES = 64 * 1024  # an AuthnRequest is a few hundred bytes; Google's about 600
NO_EMAIL_MESSAGE = "This app needs your school email, and you do not have one yet. Please ask your teacher."


@dataclass(frozen=True)
class SignInRequest:
    """A checked AuthnRequest (or an IdP-initiated sign-in: ``request_id`` None), JSON-safe so it
    can wait server-side for a scan (``sso.pending``)."""

    sp_id: str
    request_id: str | None
    relay_state: str | None
    is_passive: bool = False
    force_authn: bool = False  # the SP wants a fresh sign-in: a scan after the request, not a live session
    waiting_since: str | None = None  # when it started waiting for that scan (ISO 8601, set by the server)

    def needs_fresh_scan(self, signed_in_at: datetime) -> bool:
        if not self.force_authn:
            return False
        return self.waiting_since is None or signed_in_at < datetime.fromisoformat(self.waiting_since)

    def as_parameters(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> SignInRequest:
        return cls(**parameters)


@dataclass(frozen=True)
class PostToAcs:
    """What the auto-submitting form posts to the SP: only ever its registered ACS URL."""

    acs_url: str
    saml_response: str  # base64, as the HTTP-POST binding carries it
    relay_state: str | None


def _decode(saml_request: str, binding: str) -> samlp.AuthnRequest:
    try:
        raw = base64.b64decode(saml_request, validate=False)
        if binding == BINDING_HTTP_REDIRECT:
            # Inflated with a cap: a few KB of deflated zeros must not become megabytes in memory.
            inflater = zlib.decompressobj(-15)
            xml = inflater.decompress(raw, MAX_REQUEST_BYTES)
            if inflater.unconsumed_tail:
                raise SsoRefused("request_too_large")
        else:
            xml = raw
        request = samlp.authn_request_from_string(xml.decode("utf-8"))
    except SsoRefused:
        raise
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError, SyntaxError) as exc:
        raise SsoRefused("malformed_request") from exc
    except Exception as exc:  # defusedxml and pysaml2 raise their own kinds for hostile XML
        raise SsoRefused("malformed_request") from exc
    if request is None or request.issuer is None or not request.issuer.text or not request.id:
        raise SsoRefused("malformed_request")
    if request.version != "2.0" or not request.issue_instant:
        raise SsoRefused("malformed_request")
    return request


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SsoRefused("malformed_request") from exc
    if parsed.tzinfo is None:  # SAML core 1.3.3: xs:dateTime in UTC, with its Z
        raise SsoRefused("malformed_request")
    return parsed.astimezone(UTC)


def _remember_request(
    db: Session, provider: SamlServiceProvider, request_id: str, expires_at: datetime, now: datetime
) -> None:
    """Refuse a request id seen before; keep it until the request would be stale anyway."""
    db.execute(delete(SamlSeenRequest).where(SamlSeenRequest.sp_id == provider.id, SamlSeenRequest.expires_at < now))
    if db.get(SamlSeenRequest, (provider.id, request_id)) is not None:
        raise SsoRefused("replayed_request")
    try:
        with db.begin_nested():
            db.add(SamlSeenRequest(sp_id=provider.id, request_id=request_id, expires_at=expires_at))
    except IntegrityError as exc:  # the same request arriving twice at once
        raise SsoRefused("replayed_request") from exc


def check_authn_request(
    db: Session,
    keys: ServerKeys,
    settings: Settings,
    issuer: str,
    now: datetime,
    *,
    binding: str,
    saml_request: str,
    relay_state: str | None,
    sig_alg: str | None = None,
    signature: str | None = None,
) -> SignInRequest:
    """Check an AuthnRequest as it arrived; return what answering it needs, or raise SsoRefused."""
    request = _decode(saml_request, binding)
    provider = enabled_provider_by_entity_id(db, request.issuer.text.strip())
    if provider is None:
        raise SsoRefused("unknown_or_disabled_sp")
    if request.assertion_consumer_service_url and request.assertion_consumer_service_url != provider.acs_url:
        raise SsoRefused("acs_url_not_registered")
    if request.protocol_binding and request.protocol_binding != BINDING_HTTP_POST:
        raise SsoRefused("unsupported_response_binding")
    if provider.require_signed_requests:
        # pysaml2 checks the signature (XML-DSig for POST, the query signature for Redirect)
        # against the certificate registered for this SP, and the Destination against ours.
        with identity_provider(db, keys, settings, issuer, now, provider) as server:
            try:
                server.parse_authn_request(saml_request, binding, relay_state, sig_alg, signature)
            except Exception as exc:
                raise SsoRefused("request_signature_missing_or_invalid") from exc
    issued_at = _instant(request.issue_instant)
    window = timedelta(seconds=settings.saml_response_seconds)
    skew = timedelta(seconds=CLOCK_SKEW_SECONDS)
    if issued_at < now - window - skew or issued_at > now + skew:
        raise SsoRefused("stale_request")
    _remember_request(db, provider, request.id, issued_at + window + 2 * skew, now)
    return SignInRequest(
        provider.id,
        request.id,
        relay_state,
        is_passive=request.is_passive == "true",
        force_authn=request.force_authn == "true",
    )


def provider_for(db: Session, request: SignInRequest) -> SamlServiceProvider:
    """The request's SP, still enabled (an admin may have disabled it while the child scanned)."""
    provider = enabled_provider(db, request.sp_id)
    if provider is None:
        raise SsoRefused("unknown_or_disabled_sp")
    return provider


def name_id_of(db: Session, provider: SamlServiceProvider, person: Person, now: datetime) -> NameID | None:
    """The NameID this SP knows the person by; None for an email SP and a person without one."""
    if provider.nameid_format == NameIdFormat.EMAIL:
        if not person.email:
            return None
        return NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=person.email)
    return NameID(
        format=NAMEID_FORMATS[NameIdFormat.PERSISTENT.value],
        text=subject_of(db, person.id, now),
        sp_name_qualifier=provider.entity_id,
    )


def _attributes(provider: SamlServiceProvider, person: Person) -> dict[str, list[str]]:
    # Google needs none, and rejects a whole assertion whose attributes are not low-ASCII
    # ("SSO assertion requirements"): a José would not get in. Other SPs get the name parts.
    if provider.entity_id.startswith(GOOGLE_ENTITY_IDS):
        return {}
    attributes = {"givenName": [person.first_name], "sn": [person.family_name], "displayName": [person.display_name]}
    if person.email:
        attributes["mail"] = [person.email]
    return attributes


def _session_index(response_xml: str) -> str:
    # pysaml2 makes the SessionIndex (a random sid) itself; read it back for single logout.
    response = samlp.response_from_string(response_xml)
    index: str = response.assertion[0].authn_statement[0].session_index
    return index


def issue_response(
    db: Session,
    keys: ServerKeys,
    settings: Settings,
    issuer: str,
    student: StudentSession,
    request: SignInRequest,
    now: datetime,
) -> PostToAcs:
    """Sign the student in to the SP: a signed Response for its registered ACS, on record."""
    provider = provider_for(db, request)
    person = student.person
    name_id = name_id_of(db, provider, person, now)
    if name_id is None:
        error = SsoRefused("student_has_no_email", NO_EMAIL_MESSAGE)
        error.audit_ids.update({"person_id": person.id, "badge_id": student.badge_id})
        error.audit_detail["sp_id"] = provider.id
        raise error
    authn = {"class_ref": AUTHN_CONTEXT, "authn_instant": int(student.created_at.timestamp())}
    with identity_provider(db, keys, settings, issuer, now, provider) as server:
        signed = server.create_authn_response(
            identity=_attributes(provider, person),
            in_response_to=request.request_id,
            destination=provider.acs_url,
            sp_entity_id=provider.entity_id,
            name_id=name_id,
            authn=authn,
            sign_response=False,
            sign_assertion=False,
        )
    signing = active_key(db, keys, settings, now)
    signed = signed_message(str(signed), signing.private_key_pem, signing.certificate_pem)
    session_index = _session_index(str(signed))
    db.add(
        SsoSignIn(
            session_id=student.id,
            protocol=SsoProtocol.SAML.value,
            client_ref=provider.id,
            saml_session_index=session_index,
            signed_in_at=now,
            logged_out_at=None,
        )
    )
    audit.record(
        db,
        "saml.sign_in",
        person_id=person.id,
        badge_id=student.badge_id,
        device_id=student.device_id,
        sp_id=provider.id,
        idp_initiated=request.request_id is None,
    )
    encoded = base64.b64encode(str(signed).encode("utf-8")).decode("ascii")
    return PostToAcs(provider.acs_url, encoded, request.relay_state)


def no_passive_response(
    db: Session, keys: ServerKeys, settings: Settings, issuer: str, request: SignInRequest, now: datetime
) -> PostToAcs:
    """IsPassive and no session: tell the SP (signed NoPassive status) instead of asking for a scan."""
    provider = provider_for(db, request)
    with identity_provider(db, keys, settings, issuer, now, provider) as server:
        response = server.create_error_response(
            request.request_id,
            provider.acs_url,
            (STATUS_NO_PASSIVE, "No student is signed in on this device."),
            sign=False,
        )
    signing = active_key(db, keys, settings, now)
    response = signed_message(str(response), signing.private_key_pem, signing.certificate_pem)
    audit.record(db, "saml.sign_in", "no_passive", sp_id=provider.id)
    encoded = base64.b64encode(str(response).encode("utf-8")).decode("ascii")
    return PostToAcs(provider.acs_url, encoded, request.relay_state)
