"""single sign-on: signing keys, subjects, OIDC clients, codes and tokens, SAML service providers,
pending sign-ins, kiosk-to-browser hand-off codes, cart enrolment links; apps.sso_protocol, sso_ref

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 06:45:25.217746
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import badge_server.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "oidc_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("initiate_login_uri", sa.String(length=2048), nullable=True),
        sa.Column("backchannel_logout_uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("disabled_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_clients")),
    )
    op.create_table(
        "pending_sign_ins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_sign_ins")),
        sa.UniqueConstraint("digest", name=op.f("uq_pending_sign_ins_digest")),
    )
    op.create_table(
        "saml_service_providers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.String(length=1024), nullable=False),
        sa.Column("acs_url", sa.String(length=2048), nullable=False),
        sa.Column("nameid_format", sa.String(length=16), nullable=False),
        sa.Column("slo_url", sa.String(length=2048), nullable=True),
        sa.Column("certificate_pem", sa.Text(), nullable=True),
        sa.Column("require_signed_requests", sa.Boolean(), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("disabled_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_service_providers")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_saml_service_providers_entity_id")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("signs_from", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("superseded_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.Column("retire_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "enrol_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=255), nullable=False),
        sa.Column("name_prefix", sa.String(length=120), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["school_id"], ["orgs.id"], name=op.f("fk_enrol_links_school_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrol_links")),
        sa.UniqueConstraint("digest", name=op.f("uq_enrol_links_digest")),
    )
    op.create_table(
        "saml_seen_requests",
        sa.Column("sp_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sp_id"], ["saml_service_providers.id"], name=op.f("fk_saml_seen_requests_sp_id_saml_service_providers")
        ),
        sa.PrimaryKeyConstraint("sp_id", "request_id", name=op.f("pk_saml_seen_requests")),
    )
    op.create_table(
        "subjects",
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("created_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_subjects_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("subject", name=op.f("uq_subjects_subject")),
    )
    op.create_table(
        "handoff_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_handoff_codes_device_id_devices")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["student_sessions.id"], name=op.f("fk_handoff_codes_session_id_student_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_codes")),
        sa.UniqueConstraint("digest", name=op.f("uq_handoff_codes_digest")),
    )
    with op.batch_alter_table("handoff_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_codes_session_id"), ["session_id"], unique=False)

    op.create_table(
        "oidc_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column("scope", sa.String(length=512), nullable=False),
        sa.Column("nonce", sa.String(length=512), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=True),
        sa.Column("auth_time", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oidc_clients.id"], name=op.f("fk_oidc_codes_client_id_oidc_clients")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_oidc_codes_person_id_people")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["student_sessions.id"], name=op.f("fk_oidc_codes_session_id_student_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_codes")),
        sa.UniqueConstraint("digest", name=op.f("uq_oidc_codes_digest")),
    )
    with op.batch_alter_table("oidc_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_codes_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oidc_codes_session_id"), ["session_id"], unique=False)

    op.create_table(
        "sso_sign_ins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("client_ref", sa.String(length=64), nullable=False),
        sa.Column("saml_session_index", sa.String(length=128), nullable=True),
        sa.Column("signed_in_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("logged_out_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["student_sessions.id"], name=op.f("fk_sso_sign_ins_session_id_student_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_sign_ins")),
    )
    with op.batch_alter_table("sso_sign_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_sign_ins_session_id"), ["session_id"], unique=False)

    op.create_table(
        "oidc_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("code_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=512), nullable=False),
        sa.Column("issued_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", badge_server.store.models.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", badge_server.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oidc_clients.id"], name=op.f("fk_oidc_tokens_client_id_oidc_clients")),
        sa.ForeignKeyConstraint(["code_id"], ["oidc_codes.id"], name=op.f("fk_oidc_tokens_code_id_oidc_codes")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_oidc_tokens_person_id_people")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["student_sessions.id"], name=op.f("fk_oidc_tokens_session_id_student_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_oidc_tokens_digest")),
    )
    with op.batch_alter_table("oidc_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_tokens_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oidc_tokens_code_id"), ["code_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oidc_tokens_session_id"), ["session_id"], unique=False)

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_protocol", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("sso_ref", sa.String(length=64), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_column("sso_ref")
        batch_op.drop_column("sso_protocol")

    with op.batch_alter_table("oidc_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_session_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_code_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_client_id"))

    op.drop_table("oidc_tokens")
    with op.batch_alter_table("sso_sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_sign_ins_session_id"))

    op.drop_table("sso_sign_ins")
    with op.batch_alter_table("oidc_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_codes_session_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_codes_client_id"))

    op.drop_table("oidc_codes")
    with op.batch_alter_table("handoff_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_codes_session_id"))

    op.drop_table("handoff_codes")
    op.drop_table("subjects")
    op.drop_table("saml_seen_requests")
    op.drop_table("enrol_links")
    op.drop_table("signing_keys")
    op.drop_table("saml_service_providers")
    op.drop_table("pending_sign_ins")
    op.drop_table("oidc_clients")
