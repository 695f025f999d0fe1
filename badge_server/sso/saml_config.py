"""pysaml2 set up as this server's identity provider, for one request.

pysaml2 signs through Debian's ``xmlsec1``, which reads the private key from a file. The key
is decrypted for one request (``signing_keys.active_key``), written into a private temporary
directory (0700, files 0600) and removed when the request's SAML work is done: a process that
keeps no key on disk between requests cannot leak one from a crash dump of /tmp, and every
server process signs with whatever key the database says is current, rotation included. The
cost is two small file writes per sign-in (measured in benchmarks/sso_saml.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
from badge_server.sso.signing_keys import active_key, published_keys
from badge_server.store.sso_models import NameIdFormat, SamlServiceProvider

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


def _write_private(path: Path, data: bytes) -> str:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return str(path)


def _config(
    issuer: str,
    settings: Settings,
    directory: Path,
    key_pem: bytes,
    certificates: list[str],
    provider: SamlServiceProvider | None,
) -> IdPConfig:
    key_file = _write_private(directory / "key.pem", key_pem)
    cert_files = [_write_private(directory / f"cert{n}.pem", pem.encode("ascii")) for n, pem in enumerate(certificates)]
    sso = sso_url_of(issuer)
    config = IdPConfig()
    config.load(
        {
            "entityid": entity_id_of(issuer),
            "xmlsec_binary": xmlsec_binary(),
            "key_file": key_file,
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
    signing = active_key(db, keys, settings, now)
    others = [key.certificate_pem for key in published_keys(db, now) if key.id != signing.kid]
    with tempfile.TemporaryDirectory(prefix="badge-saml-") as directory:  # mkdtemp: mode 0700
        certificates = [signing.certificate_pem, *others]
        config = _config(issuer, settings, Path(directory), signing.private_key_pem, certificates, provider)
        yield Server(config=config)


def idp_metadata(db: Session, keys: ServerKeys, settings: Settings, issuer: str, now: datetime) -> str:
    """The IdP's SAML metadata: entity id, signing certificates, both SSO bindings, NameID formats."""
    with identity_provider(db, keys, settings, issuer, now) as server:
        return str(entity_descriptor(server.config))
