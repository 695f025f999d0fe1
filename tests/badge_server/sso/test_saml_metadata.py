"""The IdP's metadata and keys: what an SP (Google Admin) imports, and rotation without a gap."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from badge_server import clock
from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.sso import saml_config
from badge_server.sso.saml_config import identity_provider, idp_metadata
from badge_server.sso.signing_keys import active_key, rotate
from badge_server.store.db import transaction
from tests.support.saml_sp import NS, idp_certificates

ISSUER = "https://badges.riverside.example"


def test_metadata_names_the_entity_both_sso_bindings_and_the_name_id_formats(runtime: Runtime) -> None:
    with transaction(runtime.factory) as session:
        xml = idp_metadata(session, runtime.keys, runtime.settings, ISSUER, utcnow())
        signing = active_key(session, runtime.keys, runtime.settings, utcnow())
    root = etree.fromstring(xml.encode())
    assert root.get("entityID") == f"{ISSUER}/saml/metadata"
    idp = root.find("md:IDPSSODescriptor", NS)
    assert idp is not None
    services = {(s.get("Binding"), s.get("Location")) for s in idp.findall("md:SingleSignOnService", NS)}
    assert services == {
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", f"{ISSUER}/saml/sso"),
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", f"{ISSUER}/saml/sso"),
    }
    assert {f.text for f in idp.findall("md:NameIDFormat", NS)} == {
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    }
    assert idp_certificates(xml.encode())[1] == [signing.certificate_pem]


def test_a_rotated_key_is_published_before_it_signs_and_the_old_one_until_its_assertions_expired(
    runtime: Runtime,
) -> None:
    with transaction(runtime.factory) as session:
        old = active_key(session, runtime.keys, runtime.settings, utcnow())
        new = rotate(session, runtime.keys, runtime.settings, utcnow())
    with transaction(runtime.factory) as session:
        published = idp_certificates(idp_metadata(session, runtime.keys, runtime.settings, ISSUER, utcnow()).encode())[
            1
        ]
    assert published == [old.certificate_pem, new.certificate_pem]  # the signing key first
    clock.advance(timedelta(hours=runtime.settings.signing_key_publish_hours, seconds=1))
    with transaction(runtime.factory) as session:
        assert active_key(session, runtime.keys, runtime.settings, utcnow()).kid == new.id
        published = idp_certificates(idp_metadata(session, runtime.keys, runtime.settings, ISSUER, utcnow()).encode())[
            1
        ]
    assert published[0] == new.certificate_pem and old.certificate_pem in published
    # Kept for as long as anything it signed may still be presented (an OIDC token lives longest).
    longest = max(runtime.settings.saml_response_seconds, runtime.settings.oidc_token_seconds)
    clock.advance(timedelta(seconds=longest + 1))
    with transaction(runtime.factory) as session:
        published = idp_certificates(idp_metadata(session, runtime.keys, runtime.settings, ISSUER, utcnow()).encode())[
            1
        ]
    assert published == [new.certificate_pem]


def test_the_private_key_file_is_the_processs_own_and_gone_when_it_exits(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    saml_config.remove_key_files()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with transaction(runtime.factory) as session:
        with identity_provider(session, runtime.keys, runtime.settings, ISSUER, utcnow()) as server:
            key_file = Path(server.config.key_file)
        with identity_provider(session, runtime.keys, runtime.settings, ISSUER, utcnow()) as again:
            assert again is server  # ready for the next request: no key parsed twice
    assert key_file.parent.parent == scratch
    assert oct(os.stat(key_file.parent).st_mode & 0o777) == "0o700"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert b"PRIVATE KEY" in key_file.read_bytes()
    saml_config.remove_key_files()  # what atexit does
    assert list(scratch.iterdir()) == []
    assert saml_config.entity_id_of(ISSUER) == f"{ISSUER}/saml/metadata"
