"""Alembic environment: always run on the connection ftigate hands over.

ftigate runs migrations programmatically (``ftigate.store.db.migrate``) with
``config.attributes["connection"]`` set, so no alembic.ini is needed.
"""

from __future__ import annotations

from alembic import context

from ftigate.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run ftigate migrations through ftigate.store.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
