"""The console's SAML page: what to give an SP, and registering and disabling one."""

from __future__ import annotations

import re

import httpx
from cryptography import x509

from tests.support.api import audit_count
from tests.support.district import District
from tests.support.servers import LoopbackServer


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found[1]


def test_the_admin_sees_the_urls_and_certificate_adds_google_and_disables_it(
    district_admin: httpx.Client, server: LoopbackServer, district: District
) -> None:
    page = district_admin.get("/staff/admin/saml")
    assert page.status_code == 200
    assert f"{server.url}/saml/metadata" in page.text and f"{server.url}/saml/sso" in page.text
    pem = re.search(r'<pre id="certificate">([^<]+)</pre>', page.text)
    assert pem is not None
    x509.load_pem_x509_certificate(pem[1].encode())
    google = {
        "csrf": _csrf(page),
        "name": "Google Workspace",
        "entity_id": "google.com/a/riverside.example",
        "acs_url": "https://www.google.com/a/riverside.example/acs",
        "nameid": "email",
    }
    bad = district_admin.post("/staff/admin/saml", data={**google, "acs_url": "http://www.google.com/a/x/acs"})
    assert bad.status_code == 400 and "must use https://" in bad.text
    assert "None yet." in bad.text  # nothing written
    added = district_admin.post("/staff/admin/saml", data=google)
    assert added.status_code == 200 and "google.com/a/riverside.example" in added.text
    sp_id = re.search(r'action="/staff/admin/saml/(\w+)/disable"', added.text)
    assert sp_id is not None
    disabled = district_admin.post(f"/staff/admin/saml/{sp_id[1]}/disable", data={"csrf": _csrf(added)})
    assert disabled.status_code == 200 and "is disabled" in disabled.text
    assert audit_count(district.runtime, "saml.sp.add") == 1 and audit_count(district.runtime, "saml.sp.disable") == 1
