"""Alembic environment: migrations run on a connection handed over by nanogate."""

from alembic import context

from nanogate.storage._tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
