"""``badge-server saml-sp`` and ``saml-certificate`` as an admin runs them, with real files."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.badge_server.ops.test_cli import run
from tests.support.saml_sp import SpKeys


def test_register_list_link_and_disable_a_google_workspace_sp(tmp_path: Path) -> None:
    data_dir = tmp_path / "badge-data"
    run(["init"], data_dir)
    certificate = tmp_path / "sp.pem"
    certificate.write_text(SpKeys.generate().certificate_pem)
    added = run(
        [
            "saml-sp",
            "add",
            "--name",
            "Google Workspace",
            "--entity-id",
            "google.com/a/riverside.example",
            "--acs-url",
            "https://www.google.com/a/riverside.example/acs",
            "--slo-url",
            "https://sp.example/slo",
            "--certificate",
            str(certificate),
            "--require-signed-requests",
            "--json",
        ],
        data_dir,
    )
    sp_id = json.loads(added.stdout)["sp_id"]
    listed = json.loads(run(["saml-sp", "list", "--json"], data_dir).stdout)
    assert [(p["sp_id"], p["nameid"], p["require_signed_requests"], p["disabled"]) for p in listed] == [
        (sp_id, "email", True, False)
    ]
    run(["saml-sp", "disable", sp_id], data_dir)
    assert json.loads(run(["saml-sp", "list", "--json"], data_dir).stdout)[0]["disabled"] is True
    pem = run(["saml-certificate"], data_dir).stdout
    public_key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048
    assert run(["saml-certificate", "--all"], data_dir).stdout == pem  # nothing rotated yet


def test_bad_input_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "badge-data"
    run(["init"], data_dir)
    not_a_certificate = tmp_path / "junk.pem"
    not_a_certificate.write_text("hello")
    base = ["saml-sp", "add", "--name", "X", "--entity-id", "https://sp.example"]
    cases = {
        "must use https://": [*base, "--acs-url", "http://sp.example/acs"],
        "must be an absolute": [*base, "--acs-url", "javascript:alert(1)"],
        "not a PEM X.509 certificate": [
            *base,
            "--acs-url",
            "https://sp.example/acs",
            "--certificate",
            str(not_a_certificate),
        ],
        "signed requests can only be checked": [
            *base,
            "--acs-url",
            "https://sp.example/acs",
            "--require-signed-requests",
        ],
        "no catalog app": [*base, "--acs-url", "https://sp.example/acs", "--app-id", "no-such-app"],
        "'nope' is not one of": [*base, "--acs-url", "https://sp.example/acs", "--nameid", "nope"],
    }
    for message, args in cases.items():
        done = run(args, data_dir, check=False)
        assert done.returncode == 2 and message in done.stderr, (message, done.stderr)
    assert json.loads(run(["saml-sp", "list", "--json"], data_dir).stdout) == []
    run([*base, "--acs-url", "https://sp.example/acs"], data_dir)
    duplicate = run([*base, "--acs-url", "https://sp.example/acs"], data_dir, check=False)
    assert duplicate.returncode == 2 and "already registered" in duplicate.stderr
    unknown = run(["saml-sp", "disable", "nope"], data_dir, check=False)
    assert unknown.returncode == 2 and "no SAML service provider" in unknown.stderr
