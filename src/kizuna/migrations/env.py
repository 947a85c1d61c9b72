from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kizuna.db import normalise_url
from kizuna.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or ""))
        with engine.begin() as conn:
            _run_with(conn)
        engine.dispose()
    else:
        _run_with(connection)


def _run_with(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
