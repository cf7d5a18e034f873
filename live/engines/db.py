"""The SQL archive: SQLAlchemy Core tables, the engine, and migrations to head.

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production. The schema is owned by
the Alembic migrations in ``live/engines/migrations``; these tables mirror them for queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

metadata = sa.MetaData()

hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    #: Set for an official's account made with a one-time password (``mvoting admin``).
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
)

#: A citizen is known by ``phone_ref``, a keyed reference of the number (never the number:
#: ``rooms.citizens.phones``); one account per number. ``password_hash`` is empty for an
#: account made through an identity provider.
citizens = sa.Table(
    "citizens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("phone_ref", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    #: The areas of interest the citizen chose to see (``None``: every area).
    sa.Column("areas", sa.JSON, nullable=True),
    # What the citizen chose to tell of themselves (``rooms.eligibility.Profile``), each
    # optional: a poll targeted at part of the city is checked against it.
    sa.Column("birth_year", sa.Integer, nullable=True),
    sa.Column("gender", sa.String(16), nullable=True),
    sa.Column("district", sa.String(24), nullable=True),
    sa.Column("job", sa.String(24), nullable=True),
    # What the citizen is told of (``live.notify``): new polls in these areas of interest,
    # in their district (``district``), or near a saved place (``None``: nothing).
    sa.Column("interests", sa.JSON, nullable=True),
    sa.Column("place_lat", sa.Float, nullable=True),
    sa.Column("place_lon", sa.Float, nullable=True),
    sa.Column("place_radius_m", sa.Integer, nullable=True),
)

#: An identity provider's account (OpenID Connect issuer and subject) linked to a citizen.
citizen_logins = sa.Table(
    "citizen_logins",
    metadata,
    sa.Column("issuer", sa.String(300), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column(
        "citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False, index=True
    ),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("issuer", "subject", name="pk_citizen_logins"),
)

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

#: Hosts who act for the city: a department's officials, and administrators.
officials = sa.Table(
    "officials",
    metadata,
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), primary_key=True),
    sa.Column(
        "department_id", sa.String(32), sa.ForeignKey("departments.id"), nullable=True, index=True
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.CheckConstraint("role IN ('official', 'admin')", name="ck_officials_role"),
)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("number", sa.String(6), nullable=False, index=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("password", sa.String(200), nullable=False),
    sa.Column("join_key", sa.String(64), nullable=False, unique=True),
    sa.Column("presenter_token", sa.String(64), nullable=False),
    sa.Column("owner_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

questions = sa.Table(
    "questions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("revealed", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("opened_ms", sa.BigInteger, nullable=True),
    sa.Column("closed_ms", sa.BigInteger, nullable=True),
    # Written by the worker once a closed question's stream is drained.
    sa.Column("archived_count", sa.Integer, nullable=True),
    sa.Column("tally_total", sa.Integer, nullable=True),
    sa.Column("finalized_ms", sa.BigInteger, nullable=True),
    # The poll's current transparency log (``ledger_logs.id``); a reset starts another.
    sa.Column("log_id", sa.String(32), nullable=True),
)

#: Who may run a room: its owner and the co-hosts who accepted an invitation.
room_hosts = sa.Table(
    "room_hosts",
    metadata,
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("room_id", "host_id", name="pk_room_hosts"),
    sa.CheckConstraint("role IN ('owner', 'cohost')", name="ck_room_hosts_role"),
)

#: Single-use links by which an owner makes another host a co-host.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("created_by", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("accepted_by", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
    sa.Column("accepted_ms", sa.BigInteger, nullable=True),
)

#: Who uploaded which stored image (``DATA/media/<name>``): a host's quota is the sum of
#: the sizes of its rows; an image is uploaded (and counted) once per host.
media_uploads = sa.Table(
    "media_uploads",
    metadata,
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
    sa.Column("name", sa.String(80), nullable=False, index=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("uploaded_ms", sa.BigInteger, nullable=False),  #: the last upload of it
    sa.PrimaryKeyConstraint("host_id", "name", name="pk_media_uploads"),
)

#: A citywide poll: its questions are those of ``room_id``; its author a citizen (general)
#: or an official of ``department_id`` (policy). The jobs open and close it on time.
polls = sa.Table(
    "polls",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False, unique=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("area", sa.String(24), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("opens_ms", sa.BigInteger, nullable=False),
    sa.Column("closes_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("image", sa.String(200), nullable=False),
    sa.Column("image_alt", sa.String(300), nullable=False),
    sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True, index=True),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
    sa.Column(
        "department_id", sa.String(32), sa.ForeignKey("departments.id"), nullable=True, index=True
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("opened_ms", sa.BigInteger, nullable=True),
    sa.Column("closed_ms", sa.BigInteger, nullable=True),
    #: Who may vote (``rooms.eligibility.Target.as_dict``; ``None``: every citizen).
    sa.Column("target", sa.JSON, nullable=True),
    #: Whether citizens may comment (``None``: the kind's default, ``rooms.comments``).
    sa.Column("comments", sa.Boolean, nullable=True),
    #: Set by monitors (``live.moderation``): "hidden" or "deleted", with their reason.
    sa.Column("moderation", sa.String(16), nullable=True),
    sa.Column("moderation_reason", sa.String(500), nullable=True),
    sa.Column("moderated_ms", sa.BigInteger, nullable=True),
)

#: How a closed policy poll's result was reflected, as its department published it.
reflections = sa.Table(
    "reflections",
    metadata,
    sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("reflected_on", sa.String(10), nullable=False),  #: an ISO date
    sa.Column("link", sa.String(500), nullable=False),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
    sa.Column("published_ms", sa.BigInteger, nullable=False, index=True),
)

#: A host's roster group: phone numbers a targeted poll takes ballots from
#: (``live.rosters``). Its members are kept as keyed references, as citizens are.
roster_groups = sa.Table(
    "roster_groups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("host_id", "name", name="uq_roster_groups_host_name"),
)

#: A number of a roster group: its reference (``rooms.citizens.phones.phone_ref``, never
#: the number) and the name the file or the host gave it.
roster_members = sa.Table(
    "roster_members",
    metadata,
    sa.Column("group_id", sa.String(32), sa.ForeignKey("roster_groups.id"), nullable=False),
    sa.Column("phone_ref", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("added_ms", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("group_id", "phone_ref", name="pk_roster_members"),
)

#: Which roster groups a poll targets.
roster_polls = sa.Table(
    "roster_polls",
    metadata,
    sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
    sa.Column(
        "group_id", sa.String(32), sa.ForeignKey("roster_groups.id"), nullable=False, index=True
    ),
    sa.PrimaryKeyConstraint("poll_id", "group_id", name="pk_roster_polls"),
)

ballots = sa.Table(
    "ballots",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("question_id", sa.String(32), nullable=False),
    sa.Column("ballot_id", sa.String(40), nullable=False),
    sa.Column("voter_ref", sa.String(64), nullable=False),
    sa.Column("choices", sa.JSON, nullable=False),
    sa.Column("cast_ms", sa.BigInteger, nullable=False),
    sa.Column("nonce", sa.String(32), nullable=False),
    sa.Column("receipt", sa.String(64), nullable=False),
    sa.Column("leaf_index", sa.Integer, nullable=True),  #: the ballot's entry in the log
    sa.UniqueConstraint("question_id", "ballot_id", name="uq_ballots_question_ballot"),
    sa.Index("ix_ballots_question", "question_id"),
)

#: One transparency log per poll (``rooms.ledger``); ``size`` counts its entries.
ledger_logs = sa.Table(
    "ledger_logs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("question_id", sa.String(32), nullable=False, index=True),
    sa.Column("origin", sa.String(300), nullable=False, unique=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("receipts", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("verification", sa.String(16), nullable=True),
    sa.Column("problem", sa.String(32), nullable=True),
    sa.Column("problem_fields", sa.JSON, nullable=True),
    sa.Column("verified_ms", sa.BigInteger, nullable=True),
)

#: A log's entries in order; ``stream_id`` makes appending a re-read entry a no-op.
ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("stream_id", sa.String(40), nullable=False),
    sa.Column("entry", sa.LargeBinary, nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False, index=True),
    sa.PrimaryKeyConstraint("log_id", "idx", name="pk_ledger_entries"),
    sa.UniqueConstraint("log_id", "stream_id", name="uq_ledger_entries_stream"),
)

#: The checkpoints the log signed, each with the cosignatures gathered for it.
ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("note", sa.LargeBinary, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("log_id", "size", name="pk_ledger_checkpoints"),
)

#: The size each witness last cosigned for a log: the old size of the next request.
ledger_witnessed = sa.Table(
    "ledger_witnessed",
    metadata,
    sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
    sa.Column("witness", sa.String(200), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("log_id", "witness", name="pk_ledger_witnessed"),
)

#: A room's lot drawings once committed (``live.draws``); their draws are their log's
#: entries (``rooms.draws``), the seed is kept here only once revealed.
draws = sa.Table(
    "draws",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("room_id", sa.String(32), nullable=False, index=True),
    sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("slots", sa.JSON, nullable=False),
    sa.Column("commitment", sa.String(64), nullable=False),
    sa.Column("committed_ms", sa.BigInteger, nullable=False),
    sa.Column("seed", sa.String(256), nullable=True),
    sa.Column("revealed_ms", sa.BigInteger, nullable=True),
)


#: Who moderates the public square besides the administrators: staff (a host account) and
#: the citizens' monitoring group, one account each (``live.moderation.monitors``).
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True, unique=True),
    sa.Column(
        "citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True, unique=True
    ),
    sa.Column("added_by", sa.String(100), nullable=False),
    sa.Column("added_ms", sa.BigInteger, nullable=False),
    sa.CheckConstraint("(host_id IS NULL) <> (citizen_id IS NULL)", name="ck_monitors_one_account"),
)

#: Words refused in polls, options and comments: ``key`` is the word as matched
#: (``rooms.prohibited``), ``word`` as the monitor wrote it.
prohibited_words = sa.Table(
    "prohibited_words",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("word", sa.String(100), nullable=False),
    sa.Column("added_by", sa.String(100), nullable=False),
    sa.Column("added_ms", sa.BigInteger, nullable=False),
)

#: A comment on a poll, by a citizen (or an official of the poll's department); one level
#: of replies (``parent_id``). ``status``: "visible", "hidden" or "deleted" (by its author
#: or a monitor, with ``status_reason``); a deleted comment's row stays, its body emptied.
comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
    sa.Column("parent_id", sa.String(32), sa.ForeignKey("comments.id"), nullable=True, index=True),
    sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True),
    sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("edited_ms", sa.BigInteger, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.String(500), nullable=False, server_default=""),
    sa.Index("ix_comments_poll_created", "poll_id", "created_ms"),
)

#: A citizen's report of a poll or a comment (``target_kind``), one per citizen and target;
#: resolved when a monitor acts on the target or dismisses its reports.
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(32), nullable=False),
    sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
    sa.Column("reason", sa.String(24), nullable=False),
    sa.Column("note", sa.String(500), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("resolved_ms", sa.BigInteger, nullable=True, index=True),
    sa.UniqueConstraint("target_kind", "target_id", "citizen_id", name="uq_reports_target_citizen"),
)

#: Every moderation action, appended and never changed: who (``actor``), what, on what,
#: when and why (``live.moderation.audit``).
moderation_log = sa.Table(
    "moderation_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(100), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

#: A citizen's notice of a new poll (``live.notify``), once per citizen and poll;
#: ``reason``: "area" (an interest), "district" or "place".
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
    sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("read_ms", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("citizen_id", "poll_id", name="uq_notifications_citizen_poll"),
    sa.Index("ix_notifications_citizen_created", "citizen_id", "created_ms"),
)

#: A browser's Web Push subscription (RFC 8030/8291) for a citizen's notifications.
push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False, index=True
    ),
    sa.Column("endpoint", sa.String(1000), nullable=False, unique=True),
    sa.Column("p256dh", sa.String(200), nullable=False),
    sa.Column("auth", sa.String(64), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
)


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the web node read while the worker writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the archive does not answer (stopped, restarting, the connection
    cut) rather than that it refused a statement: worth a 503 and another try.

    A connection refused or timed out comes through SQLAlchemy as the socket's own error; a
    connection lost mid-statement invalidates it; PostgreSQL itself says so with SQLSTATE
    class 08 (connection exception) or 57P (shut down, starting up)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or (
        isinstance(state, str) and state.startswith(("08", "57P"))
    )


def insert_ignoring_duplicates(conn: AsyncConnection, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def upsert_keeping_max(conn: AsyncConnection, table: sa.Table, column: str) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of ``column``, only to a larger
    value: the row keeps the highest ever inserted (a high-water mark)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    new = insert.excluded[column]
    return insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={column: new},
        where=table.c[column] < new,
    )


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration's revision: what an archive at head records."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def revision_of(conn: AsyncConnection) -> str | None:
    """The revision the archive records (None: never migrated)."""
    try:
        found = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.DBAPIError:
        return None
    return None if found is None else str(found)


def migrate_sync(url: str) -> None:
    """Bring the archive at ``url`` to the newest schema (blocking; own event loop).

    Every process migrates at start (``serve`` and its worker at the same moment, several
    nodes at once), so migrations are serialised: on SQLite by a lock file beside the
    database, on PostgreSQL by a transaction-scoped advisory lock taken in
    ``migrations/env.py``. The second process then finds the schema at head.
    """
    from alembic import command

    with _sqlite_lock(url):
        command.upgrade(_alembic_config(url), "head")


@contextlib.contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    if not url.startswith("sqlite"):
        yield
        return
    path = Path(url.split("///", 1)[1] + ".migrate.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


async def migrate(url: str) -> None:
    await asyncio.to_thread(migrate_sync, url)
