"""Schema versions: apply the packaged Alembic migrations, and refuse an unknown schema.

The engine calls `check_schema` at start: running against a database whose revision the
code does not know (older, newer, or none) could silently lose or garble records.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

SCRIPT_LOCATION = "ari_app.records:migrations"


class SchemaError(Exception):
    """The database schema is not the one this code writes; the message says what to do."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def schema_problem(current: str | None, head: str, known: frozenset[str]) -> str | None:
    """Why a database at `current` cannot be used by code whose head is `head` (None: fine)."""
    if current == head:
        return None
    if current is None:
        return (
            f"the database has no hotline schema (code needs revision {head}); "
            "run `hotline db upgrade` first"
        )
    if current not in known:
        return (
            f"the database schema is at revision {current}, which this code does not know "
            f"(newer than its {head}?); upgrade the engine or point it at another database"
        )
    return (
        f"the database schema is at revision {current} but this code needs {head}; "
        "run `hotline db upgrade`"
    )


def check_schema(engine: Engine) -> None:
    """Raise SchemaError unless the database is exactly at the code's head revision."""
    problem = schema_problem(current_revision(engine), head_revision(), known_revisions())
    if problem is not None:
        raise SchemaError(f"{safe_url(engine)}: {problem}")


def safe_url(engine: Engine) -> str:
    """The database URL with any password hidden, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for a configured URL; `postgresql://` means psycopg 3, and a SQLite file's
    directory is created so the embedded default works out of the box. SQL parameters are
    kept out of error messages: they may hold caller numbers."""
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    if u.drivername.startswith("sqlite"):
        from pathlib import Path

        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(u, hide_parameters=True, connect_args={"timeout": 5})
    return create_engine(
        u, hide_parameters=True, pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )


def database_error(exc: Exception) -> str:
    """A driver error in one line (the DBAPI's first line, never the SQL parameters)."""
    first = str(getattr(exc, "orig", exc)).splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}"
