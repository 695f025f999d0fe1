"""The RSA keys that sign ID tokens (RS256) and SAML responses (RSA-SHA256).

Keys live in the database so every server process signs with the same one; the private part
is encrypted with the server key, so a copy of the database alone cannot forge a sign-in.
Rotation publishes a new key before it signs (relying parties cache JWKS and metadata), and
keeps the old one published until everything it signed has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.store.models import new_id
from badge_server.store.sso_models import SigningKey

RSA_BITS = 2048
CERTIFICATE_YEARS = 10  # SAML service providers pin the certificate; rotation replaces it sooner


@dataclass(frozen=True)
class ActiveKey:
    """The key that signs now, with its private part decrypted for this request only."""

    kid: str
    private_key_pem: bytes
    certificate_pem: str


def _self_signed_certificate(private_key: rsa.RSAPrivateKey, common_name: str, now: datetime) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _new_key(keys: ServerKeys, settings: Settings, now: datetime, signs_from: datetime) -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = new_id()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = dict(RSAKey.import_key(public_pem).as_dict(private=False))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return SigningKey(
        id=kid,
        private_key_encrypted=keys.encrypt(pem.decode("ascii")),
        public_jwk=jwk,
        certificate_pem=_self_signed_certificate(private_key, f"{settings.district_name} badge sign-in", now),
        created_at=now,
        signs_from=signs_from,
        superseded_at=None,
        retire_at=None,
    )


def published_keys(db: Session, now: datetime) -> list[SigningKey]:
    """Every key a relying party may see a signature from: the signing one, the next, the old."""
    query = select(SigningKey).where(or_(SigningKey.retire_at.is_(None), SigningKey.retire_at > now))
    return list(db.scalars(query.order_by(SigningKey.signs_from)))


def _signing_now(db: Session, now: datetime) -> SigningKey | None:
    query = (
        select(SigningKey)
        .where(SigningKey.signs_from <= now)
        .where(or_(SigningKey.superseded_at.is_(None), SigningKey.superseded_at > now))
        .order_by(SigningKey.signs_from.desc())
    )
    return db.scalars(query).first()


def ensure_signing_key(db: Session, keys: ServerKeys, settings: Settings, now: datetime) -> SigningKey:
    """The key that signs now, creating the first one (signing at once) on a new server."""
    key = _signing_now(db, now)
    if key is None:
        key = _new_key(keys, settings, now, signs_from=now)
        db.add(key)
        db.flush()
    return key


def active_key(db: Session, keys: ServerKeys, settings: Settings, now: datetime) -> ActiveKey:
    key = ensure_signing_key(db, keys, settings, now)
    return ActiveKey(key.id, keys.decrypt(key.private_key_encrypted).encode("ascii"), key.certificate_pem)


@lru_cache(maxsize=8)
def _parsed(kid: str, private_key_pem: bytes) -> RSAKey:
    return RSAKey.import_key(private_key_pem)


def signing_jwk(key: ActiveKey) -> RSAKey:
    """The active key, parsed for joserfc. Parsing checks the RSA key (about 40 ms), so a parsed
    key is kept per process: derived from the database, it holds nothing the database does not."""
    return _parsed(key.kid, key.private_key_pem)


def rotate(db: Session, keys: ServerKeys, settings: Settings, now: datetime, *, actor: str = "system") -> SigningKey:
    """Publish a new key now; it signs after ``signing_key_publish_hours``, when caches have it.

    The key signing today keeps signing until then, and stays published for as long as a token
    or assertion it signed may still be presented.
    """
    current = ensure_signing_key(db, keys, settings, now)
    signs_from = now + timedelta(hours=settings.signing_key_publish_hours)
    newest = published_keys(db, now)[-1]
    if newest.signs_from > now:
        # A rotation is already waiting to take over; replace it rather than queue a third key.
        db.delete(newest)
        db.flush()
    new = _new_key(keys, settings, now, signs_from=signs_from)
    db.add(new)
    lifetime = timedelta(seconds=max(settings.oidc_token_seconds, settings.saml_response_seconds))
    current.superseded_at = signs_from
    current.retire_at = signs_from + lifetime
    db.flush()
    audit.record(db, "sso.signing_key.rotate", actor=actor, kid=new.id, signs_from=signs_from.isoformat())
    return new


def jwks(db: Session, now: datetime) -> dict[str, list[dict[str, object]]]:
    """The JSON Web Key Set a relying party verifies ID tokens with."""
    return {"keys": [dict(key.public_jwk) for key in published_keys(db, now)]}
