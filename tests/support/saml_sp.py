"""A SAML service provider shaped like Google Workspace, built on signxml + lxml (not pysaml2,
so it checks what the server's pysaml2 + xmlsec1 signed with a different implementation).

It sends AuthnRequests (HTTP-Redirect deflated, HTTP-POST; optionally signed) and validates a
response the way an SP must: both signatures against the IdP's published certificate,
Destination, Audience, Recipient, InResponseTo, NotBefore / NotOnOrAfter, and the NameID.
"""

from __future__ import annotations

import base64
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class SpKeys:
    """The SP's own key pair, for signed AuthnRequests."""

    private_key: rsa.RSAPrivateKey
    certificate_pem: str

    @classmethod
    def generate(cls) -> SpKeys:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test sp")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"))

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass
class ValidatedResponse:
    name_id: str
    name_id_format: str
    session_index: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    relay_state: str | None = None


@dataclass
class GoogleShapedSp:
    """Google Workspace as SP: entity id ``google.com/a/DOMAIN``, ACS ``https://www.google.com/a/DOMAIN/acs``."""

    idp_sso_url: str
    domain: str = "riverside.example"
    acs_url: str = ""
    entity_id: str = ""
    keys: SpKeys | None = None

    def __post_init__(self) -> None:
        self.entity_id = self.entity_id or f"google.com/a/{self.domain}"
        self.acs_url = self.acs_url or f"https://www.google.com/a/{self.domain}/acs"

    def authn_request(
        self,
        *,
        request_id: str | None = None,
        issued_at: datetime | None = None,
        acs_url: str | None = None,
        issuer: str | None = None,
        is_passive: bool = False,
    ) -> tuple[str, bytes]:
        """(request id, AuthnRequest XML) as Google sends it: Destination, ACS URL, POST binding."""
        request_id = request_id or f"_{uuid.uuid4().hex}"
        root = etree.Element(f"{{{SAMLP}}}AuthnRequest", nsmap={"samlp": SAMLP, "saml": SAML})
        root.set("ID", request_id)
        root.set("Version", "2.0")
        root.set("IssueInstant", instant(issued_at or datetime.now(UTC)))
        root.set("Destination", self.idp_sso_url)
        root.set("ProtocolBinding", POST_BINDING)
        root.set("AssertionConsumerServiceURL", acs_url or self.acs_url)
        if is_passive:
            root.set("IsPassive", "true")
        etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer or self.entity_id
        policy = etree.SubElement(root, f"{{{SAMLP}}}NameIDPolicy")
        policy.set("AllowCreate", "true")
        policy.set("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
        return request_id, etree.tostring(root)

    def redirect_query(self, xml: bytes, relay_state: str | None = None, *, sign: bool = False) -> dict[str, str]:
        """HTTP-Redirect binding: deflate, base64; signed over the query string (SAML bindings 3.4.4.1)."""
        deflated = zlib.compress(xml)[2:-4]
        params = {"SAMLRequest": base64.b64encode(deflated).decode("ascii")}
        if relay_state is not None:
            params["RelayState"] = relay_state
        if sign:
            assert self.keys is not None
            params["SigAlg"] = RSA_SHA256
            signed_part = urlencode(params).encode("ascii")
            signature = self.keys.private_key.sign(signed_part, padding.PKCS1v15(), hashes.SHA256())
            params["Signature"] = base64.b64encode(signature).decode("ascii")
        return params

    def post_form(self, xml: bytes, relay_state: str | None = None, *, sign: bool = False) -> dict[str, str]:
        """HTTP-POST binding: base64 of the (enveloped-signed, when ``sign``) request."""
        if sign:
            assert self.keys is not None
            # Exclusive c14n, as the SAML profile of XML-DSig asks (pysaml2 refuses others).
            signer = XMLSigner(
                signature_algorithm="rsa-sha256",
                digest_algorithm="sha256",
                c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
            )
            signed = signer.sign(etree.fromstring(xml), key=self.keys.private_pem, cert=self.keys.certificate_pem)
            xml = etree.tostring(signed)
        form = {"SAMLRequest": base64.b64encode(xml).decode("ascii")}
        if relay_state is not None:
            form["RelayState"] = relay_state
        return form

    def validate(
        self, saml_response: str, idp_certificate_pem: str, idp_entity_id: str, in_response_to: str | None
    ) -> ValidatedResponse:
        """Everything an SP checks before it signs anyone in; an AssertionError names what failed."""
        document = base64.b64decode(saml_response)
        response = etree.fromstring(document)
        # Both signatures, each at its expected place, each covering the element it sits in.
        assert verified(document, idp_certificate_pem, "./").tag == f"{{{SAMLP}}}Response"
        assertion = verified(document, idp_certificate_pem, f"./{{{SAML}}}Assertion/")
        assert assertion.tag == f"{{{SAML}}}Assertion"
        assert response.get("Destination") == self.acs_url, response.get("Destination")
        assert response.get("InResponseTo") == in_response_to, response.get("InResponseTo")
        status = response.find("samlp:Status/samlp:StatusCode", NS)
        assert status is not None and status.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Success"
        assert assertion.findtext("saml:Issuer", namespaces=NS) == idp_entity_id
        now = datetime.now(UTC)
        conditions = assertion.find("saml:Conditions", NS)
        assert conditions is not None
        assert _parse_instant(conditions.get("NotBefore", "")) <= now + timedelta(seconds=60)
        assert now < _parse_instant(conditions.get("NotOnOrAfter", ""))
        audiences = assertion.findall("saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)
        assert [a.text for a in audiences] == [self.entity_id], [a.text for a in audiences]
        confirmation = assertion.find("saml:Subject/saml:SubjectConfirmation", NS)
        assert confirmation is not None and confirmation.get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
        data = confirmation.find("saml:SubjectConfirmationData", NS)
        assert data is not None
        assert data.get("Recipient") == self.acs_url, data.get("Recipient")
        assert data.get("InResponseTo") == in_response_to
        assert now < _parse_instant(data.get("NotOnOrAfter", ""))
        name_id = assertion.find("saml:Subject/saml:NameID", NS)
        assert name_id is not None and name_id.text
        statement = assertion.find("saml:AuthnStatement", NS)
        assert statement is not None and statement.get("SessionIndex")
        attributes = {
            a.get("Name", ""): [v.text or "" for v in a.findall("saml:AttributeValue", NS)]
            for a in assertion.findall("saml:AttributeStatement/saml:Attribute", NS)
        }
        return ValidatedResponse(name_id.text, name_id.get("Format", ""), statement.get("SessionIndex", ""), attributes)


def verified(document: bytes, certificate_pem: str, location: str) -> Any:
    """The element the signature at ``location`` covers, verified with the IdP's certificate."""
    result = XMLVerifier().verify(
        document, x509_cert=certificate_pem, expect_config=SignatureConfiguration(location=location)
    )
    assert not isinstance(result, list)
    assert isinstance(result.signed_xml, etree._Element)
    return result.signed_xml


def posted_form(html: str) -> tuple[str, dict[str, str]]:
    """The auto-submitting page's form: its action and hidden fields."""
    action = re.search(r'<form id="saml-post" method="post" action="([^"]+)"', html)
    assert action is not None, html
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return unescape(action.group(1)), {k: unescape(v) for k, v in fields.items()}


def idp_certificates(metadata_xml: bytes) -> tuple[str, list[str]]:
    """(entity id, signing certificates as PEM) from the IdP's metadata, as an SP imports them."""
    root = etree.fromstring(metadata_xml)
    bodies = root.findall(
        "md:IDPSSODescriptor/md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS
    )
    pems = []
    for body in bodies:
        text = "".join((body.text or "").split())
        lines = [text[i : i + 64] for i in range(0, len(text), 64)]
        pems.append("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
    return root.get("entityID", ""), pems
