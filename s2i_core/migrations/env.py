"""Alembic environment. ``Library`` (s2i_core/storage/) runs the upgrade itself at open, handing
over a connection inside its own transaction. To write the next revision after changing the models:

    from alembic import command
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", "s2i_core/migrations")
    config.set_main_option("sqlalchemy.url", "sqlite:///data/s2i.db")  # a database at head
    command.revision(config, "what changed", autogenerate=True)
"""

from alembic import context
from sqlalchemy import create_engine

from s2i_core.storage import Base

config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run_migrations(connection)
else:
    with create_engine(database_url()).begin() as connection:
        run_migrations(connection)
