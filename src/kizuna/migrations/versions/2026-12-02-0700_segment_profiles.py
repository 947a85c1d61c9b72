"""segment profiles: the profiles the segments engine has looked at in full

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_profiles",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_segment_profiles")),
    )


def downgrade() -> None:
    op.drop_table("segment_profiles")
