"""pysaml2 set up as this server's identity provider.

Responses and LogoutRequests are signed in-process (``saml_signing``), but pysaml2's security
context, which checks signed AuthnRequests through Debian's ``xmlsec1``, still wants the key as a
file (without it those checks fail), and building its IdP parses that key twice (about 40 ms
each on this machine's 2 cores). So each
server process keeps a small pool of ready pysaml2 IdPs, keyed by everything they depend on
(signing key, published certificates, issuer, the SP's registration), and writes each signing
key once into a private directory of its own (``mkdtemp``: 0700; files 0600, written atomically)
that is removed when the process exits. The key is readable only by the server's user, which
can read the server key that decrypts it anyway; a rotation or an SP's change gives a new pool
entry, so every process follows the database. Measured in benchmarks/sso_saml.py.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256, KeyInfo, X509Certificate, X509Data
from sqlalchemy.orm import Session

from badge_server.errors import ConfigError
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.sso.signing_keys import ensure_signing_key, published_keys
from badge_server.store.sso_models import NameIdFormat, SamlServiceProvider, SigningKey

__all__ = ["BINDING_HTTP_POST", "BINDING_HTTP_REDIRECT", "identity_provider", "idp_metadata"]

NAMEID_FORMATS = {
    NameIdFormat.EMAIL.value: NAMEID_FORMAT_EMAILADDRESS,
    NameIdFormat.PERSISTENT.value: NAMEID_FORMAT_PERSISTENT,
}
# Clocks of districts' servers and SPs drift; a minute either way is what SAML deployments allow.
CLOCK_SKEW_SECONDS = 60


def entity_id_of(issuer: str) -> str:
    """The IdP's entity id: its metadata URL (DESIGN.md), so an SP can fetch what it names."""
    return f"{issuer}/saml/metadata"


def sso_url_of(issuer: str) -> str:
    return f"{issuer}/saml/sso"


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise ConfigError("xmlsec1 is not installed (Debian package xmlsec1; scripts/install installs it)")
    return found


def certificate_body(pem: str) -> str:
    """The base64 of a PEM certificate, as XML-DSig's X509Certificate carries it."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def sp_metadata(provider: SamlServiceProvider) -> str:
    """The registered SP as SAML metadata, so pysaml2 checks requests against what we stored."""
    descriptor = md.SPSSODescriptor(
        protocol_support_enumeration="urn:oasis:names:tc:SAML:2.0:protocol",
        authn_requests_signed="true" if provider.require_signed_requests else "false",
        assertion_consumer_service=[
            md.AssertionConsumerService(binding=BINDING_HTTP_POST, location=provider.acs_url, index="0")
        ],
    )
    if provider.certificate_pem:
        certificate = X509Certificate(text=certificate_body(provider.certificate_pem))
        descriptor.key_descriptor = [
            md.KeyDescriptor(use="signing", key_info=KeyInfo(x509_data=[X509Data(x509_certificate=certificate)]))
        ]
    return str(md.EntityDescriptor(entity_id=provider.entity_id, spsso_descriptor=[descriptor]))


POOL_PER_SETUP = 8  # ready IdPs per set-up: about the requests one process signs at once
POOL_SETUPS = 64  # distinct set-ups (SPs x keys) kept; past that the pool starts over
_pool: dict[tuple[object, ...], list[Server]] = {}
_pool_lock = threading.Lock()
_key_directory: Path | None = None


def key_directory() -> Path:
    """This process's private directory for key and certificate files (0700, gone at exit)."""
    global _key_directory
    with _pool_lock:
        if _key_directory is None:
            _key_directory = Path(tempfile.mkdtemp(prefix="badge-saml-"))
            atexit.register(remove_key_files)
        return _key_directory


def remove_key_files() -> None:
    """Delete this process's key files (at exit; tests call it directly)."""
    global _key_directory
    with _pool_lock:
        if _key_directory is not None:
            shutil.rmtree(_key_directory, ignore_errors=True)
        _key_directory = None
        _pool.clear()


def _write_private(path: Path, data: bytes) -> str:
    if not path.exists():
        # Written under a unique name and renamed: another thread never reads half a key.
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    return str(path)


def _config(
    issuer: str,
    settings: Settings,
    keys: ServerKeys,
    signing: SigningKey,
    others: list[SigningKey],
    provider: SamlServiceProvider | None,
) -> IdPConfig:
    directory = key_directory()
    key_file = directory / f"{signing.id}.key"
    if not key_file.exists():
        _write_private(key_file, keys.decrypt(signing.private_key_encrypted).encode("ascii"))
    cert_files = [
        _write_private(directory / f"{k.id}.crt", k.certificate_pem.encode("ascii")) for k in [signing, *others]
    ]
    sso = sso_url_of(issuer)
    config = IdPConfig()
    config.load(
        {
            "entityid": entity_id_of(issuer),
            "xmlsec_binary": xmlsec_binary(),
            "key_file": str(key_file),
            "cert_file": cert_files[0],
            "additional_cert_files": cert_files[1:] or None,
            "accepted_time_diff": CLOCK_SKEW_SECONDS,
            "metadata": {"inline": [sp_metadata(provider)]} if provider is not None else {},
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(sso, BINDING_HTTP_REDIRECT), (sso, BINDING_HTTP_POST)]},
                    "name_id_format": list(NAMEID_FORMATS.values()),
                    "want_authn_requests_signed": bool(provider and provider.require_signed_requests),
                    "sign_response": True,
                    "sign_assertion": True,
                    "signing_algorithm": SIG_RSA_SHA256,
                    "digest_algorithm": DIGEST_SHA256,
                    "policy": {
                        "default": {
                            "lifetime": {"seconds": settings.saml_response_seconds},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                        }
                    },
                }
            },
        }
    )
    return config


@contextmanager
def identity_provider(
    db: Session,
    keys: ServerKeys,
    settings: Settings,
    issuer: str,
    now: datetime,
    provider: SamlServiceProvider | None = None,
) -> Iterator[Server]:
    """A pysaml2 IdP signing with the current key, knowing ``provider`` (if given) and nothing else.

    Its metadata lists every published certificate (the signing one first), so an SP that
    reads it trusts the next key before it signs (``signing_keys.rotate``).
    """
    signing = ensure_signing_key(db, keys, settings, now)
    others = [key for key in published_keys(db, now) if key.id != signing.id]
    setup: tuple[object, ...] = (issuer, settings.saml_response_seconds, signing.id, *(key.id for key in others))
    if provider is not None:
        setup += (provider.entity_id, provider.acs_url, provider.certificate_pem, provider.require_signed_requests)
    with _pool_lock:
        ready = _pool.get(setup)
        server = ready.pop() if ready else None
    if server is None:
        server = Server(config=_config(issuer, settings, keys, signing, others, provider))
    try:
        yield server
    finally:
        with _pool_lock:
            if len(_pool) >= POOL_SETUPS and setup not in _pool:
                _pool.clear()
            ready = _pool.setdefault(setup, [])
            if len(ready) < POOL_PER_SETUP:
                ready.append(server)


def idp_metadata(db: Session, keys: ServerKeys, settings: Settings, issuer: str, now: datetime) -> str:
    """The IdP's SAML metadata: entity id, signing certificates, both SSO bindings, NameID formats."""
    with identity_provider(db, keys, settings, issuer, now) as server:
        return str(entity_descriptor(server.config))
