"""covering indexes for may_contact over an audience

The audience walk reads (type, value) of each person's identifiers, then the consent rows on
each: with both indexes covering what the walk reads, neither visits the table. Each replaces
the index it extends (same leading columns), so writes keep one index each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LEDGER_COLUMNS = [
    "identifier_type", "identifier_value", "purpose", "channel", "granted", "explicit",
    "effective_at",
]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("identity_nodes") as batch:
        batch.drop_index("ix_identity_nodes_profile_id")
        batch.create_index("ix_identity_nodes_profile", ["profile_id", "type", "value"])
    with op.batch_alter_table("consent_records") as batch:
        batch.drop_index("ix_consent_records_identifier")
        batch.create_index("ix_consent_records_identifier", LEDGER_COLUMNS)


def downgrade() -> None:
    with op.batch_alter_table("consent_records") as batch:
        batch.drop_index("ix_consent_records_identifier")
        batch.create_index("ix_consent_records_identifier", ["identifier_type", "identifier_value"])
    with op.batch_alter_table("identity_nodes") as batch:
        batch.drop_index("ix_identity_nodes_profile")
        batch.create_index("ix_identity_nodes_profile_id", ["profile_id"])
