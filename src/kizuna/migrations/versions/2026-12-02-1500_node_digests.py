"""node digests: each identity node carries the keyed digest the suppression list holds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:00:00

The digest key (signing key of purpose ``digests``) is created here if the database has none,
so that no two processes race to create the first one later. Existing nodes are digested in
batches (the key never leaves the database).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5_000

keys = sa.table(
    "signing_keys",
    sa.column("id", sa.BigInteger),
    sa.column("purpose", sa.String),
    sa.column("secret", sa.String),
    sa.column("created_at", sa.DateTime),
)
nodes = sa.table(
    "identity_nodes",
    sa.column("id", sa.BigInteger),
    sa.column("type", sa.String),
    sa.column("value", sa.String),
    sa.column("digest", sa.String),
)


def _digest_key(conn: sa.Connection) -> bytes:
    secret = conn.scalar(
        sa.select(keys.c.secret).where(keys.c.purpose == "digests").order_by(keys.c.id).limit(1)
    )
    if secret is None:
        secret = secrets.token_urlsafe(48)
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(sa.insert(keys).values(purpose="digests", secret=secret, created_at=now))
    return str(secret).encode()[:64]


def upgrade() -> None:
    op.add_column("identity_nodes", sa.Column("digest", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    key = _digest_key(conn)
    after = 0
    while True:  # the same digest as kizuna.privacy.keys.identifier_digester
        rows = conn.execute(
            sa.select(nodes.c.id, nodes.c.type, nodes.c.value)
            .where(nodes.c.id > after)
            .order_by(nodes.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            sa.update(nodes).where(nodes.c.id == sa.bindparam("node")),
            [
                {
                    "node": node_id,
                    "digest": hashlib.blake2b(
                        f"{id_type}\x1f{value}".encode(), digest_size=32, key=key
                    ).hexdigest(),
                }
                for node_id, id_type, value in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("identity_nodes") as batch:  # SQLite rebuilds the table
        batch.drop_column("digest")
