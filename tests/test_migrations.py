"""Data migrations do what they say on databases that already hold data. On both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from kizuna.migrations import alembic_config, current_revision, head_revision, upgrade
from kizuna.privacy.keys import digest_secret, identifier_digester


def test_0008_digests_the_nodes_already_stored_with_a_key_it_creates(database_url: str) -> None:
    engine = create_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM signing_keys"))
        conn.execute(
            text(
                "INSERT INTO identity_nodes (type, value, profile_id, first_seen_at,"
                " last_seen_at, events) VALUES (:t, :v, NULL, :now, :now, 1)"
            ),
            [
                {"t": "email", "v": "ann@example.com", "now": now},
                {"t": "phone", "v": "+819011112222", "now": now},
            ],
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        digest = identifier_digester(digest_secret(conn))
        stored = dict(conn.execute(text("SELECT value, digest FROM identity_nodes")).all())
        keys = conn.execute(text("SELECT count(*) FROM signing_keys")).scalar()
    engine.dispose()
    assert keys == 1  # the migration's key, which digest_secret then found
    assert stored == {
        "ann@example.com": digest("email", "ann@example.com"),
        "+819011112222": digest("phone", "+819011112222"),
    }
