"""One frozen settings object, read from the environment once.

Every setting has a name, a default and a line of help in ``SETTINGS``; the README's
table is checked against it by a test. Lookup: the environment, then ``DATA/.env``
(``KEY=value`` lines), then the default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rooms.tlog.notes import is_key_name


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("MVOTING_DATA", "./var", "Data directory: embedded Valkey, SQLite archive, secret."),
    Setting("REDIS_URL", "", "External Redis/Valkey URL; empty starts the bundled Valkey."),
    Setting(
        "MVOTING_REDIS_CLUSTER",
        "",
        "1 when REDIS_URL names a node of a Redis/Valkey Cluster (the client finds the rest).",
    ),
    Setting("DATABASE_URL", "", "External SQL archive URL; empty uses DATA/mvoting.db."),
    Setting(
        "MVOTING_SECRET",
        "",
        "Secret for cookies, tokens, voter references; empty generates one into DATA/secret.",
    ),
    Setting(
        "MVOTING_PUBLIC_URL",
        "",
        "Base URL printed in join/presenter links; empty uses the running server's address.",
    ),
    Setting("MVOTING_KEY_PREFIX", "mv:", "Prefix of every Redis key and channel."),
    Setting("MVOTING_REDIS_POOL", "256", "Redis connections per process (a burst needs many)."),
    Setting("MVOTING_TALLY_INTERVAL_MS", "100", "Least time between two tallies of a question."),
    Setting("MVOTING_LOG_LEVEL", "info", "Log level: debug, info, warning, error."),
    Setting(
        "MVOTING_LEDGER_NAME",
        "",
        "Name of the ledger, the prefix of every poll log's origin; empty: "
        "<public URL host and path>/ledger, or mvoting.localhost/ledger.",
    ),
    Setting(
        "MVOTING_LEDGER_POLICY",
        "",
        "C2SP tlog-policy file of the witnesses and their quorum; empty: DATA/policy "
        "(written by the local witnesses).",
    ),
    Setting(
        "MVOTING_LOCAL_WITNESSES",
        "4",
        "Witnesses `serve` starts on this machine (3-of-4 quorum) when no policy is set; 0: none.",
    ),
    Setting(
        "MVOTING_CHECKPOINT_INTERVAL_MS",
        "2000",
        "Least time between two signed checkpoints of a poll's log while ballots arrive.",
    ),
    Setting(
        "MVOTING_HEADER_TIMEOUT_MS",
        "10000",
        "Time a client has to send a request's headers; a slower connection is closed.",
    ),
    Setting(
        "MVOTING_MAX_CONNECTIONS",
        "20000",
        "Open connections (websockets included) `serve` keeps at most; more are closed.",
    ),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}

#: The ledger's name when no public URL gives one.
DEFAULT_LEDGER_NAME = "mvoting.localhost/ledger"


class Secret:
    """A value that does not print itself."""

    def __init__(self, value: bytes) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> bytes:
        return self._value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str | None
    redis_cluster: bool
    database_url: str | None
    secret: Secret = field(repr=False)
    public_url: str | None
    key_prefix: str
    redis_pool: int
    tally_interval: float
    log_level: str
    ledger_name: str = "mvoting.localhost/ledger"  # DEFAULT_LEDGER_NAME
    ledger_policy: Path | None = None  #: None: DATA/policy, if the local witnesses wrote it
    local_witnesses: int = 4
    checkpoint_interval: float = 2.0
    header_timeout: float = 10.0
    max_connections: int = 20_000

    @property
    def policy_path(self) -> Path:
        return self.ledger_policy or self.data_dir / "policy"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "mvoting.db"

    @property
    def archive_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"


class SettingsError(Exception):
    pass


def load_settings(environ: Mapping[str, str] | None = None, **overrides: str) -> Settings:
    """Build the settings; ``overrides`` (e.g. from command-line flags) win over all."""
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(overrides.get("MVOTING_DATA") or env.get("MVOTING_DATA") or "./var")
    dotenv = _read_dotenv(data_dir / ".env")

    def get(name: str) -> str:
        if name in overrides and overrides[name] is not None:
            return overrides[name]
        if name in env:
            return env[name]
        return dotenv.get(name, _DEFAULTS[name])

    def integer(name: str, low: int) -> int:
        raw = get(name)
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
        if value < low:
            raise SettingsError(f"{name} must be at least {low}")
        return value

    def flag(name: str) -> bool:
        raw = get(name).strip().lower()
        if raw in {"", "0", "no", "false", "off"}:
            return False
        if raw in {"1", "yes", "true", "on"}:
            return True
        raise SettingsError(f"{name} must be 1 or 0 (or empty), not {raw!r}")

    data_dir = data_dir.resolve()
    cluster = flag("MVOTING_REDIS_CLUSTER")
    if cluster and not get("REDIS_URL"):
        raise SettingsError(
            "MVOTING_REDIS_CLUSTER needs REDIS_URL: the bundled Valkey is one server"
        )
    if cluster and ("{" in get("MVOTING_KEY_PREFIX") or "}" in get("MVOTING_KEY_PREFIX")):
        raise SettingsError("MVOTING_KEY_PREFIX holds no braces on a cluster: keys carry hash tags")
    level = get("MVOTING_LOG_LEVEL").lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise SettingsError(f"MVOTING_LOG_LEVEL: debug, info, warning or error, not {level!r}")
    return Settings(
        data_dir=data_dir,
        redis_url=get("REDIS_URL") or None,
        redis_cluster=cluster,
        database_url=_async_url(get("DATABASE_URL")) or None,
        secret=Secret(_secret(get("MVOTING_SECRET"), data_dir)),
        public_url=get("MVOTING_PUBLIC_URL").rstrip("/") or None,
        key_prefix=get("MVOTING_KEY_PREFIX"),
        redis_pool=integer("MVOTING_REDIS_POOL", 4),
        tally_interval=integer("MVOTING_TALLY_INTERVAL_MS", 10) / 1000,
        log_level=level,
        ledger_name=_ledger_name(get("MVOTING_LEDGER_NAME"), get("MVOTING_PUBLIC_URL")),
        ledger_policy=Path(get("MVOTING_LEDGER_POLICY")) if get("MVOTING_LEDGER_POLICY") else None,
        local_witnesses=integer("MVOTING_LOCAL_WITNESSES", 0),
        checkpoint_interval=integer("MVOTING_CHECKPOINT_INTERVAL_MS", 10) / 1000,
        header_timeout=integer("MVOTING_HEADER_TIMEOUT_MS", 100) / 1000,
        max_connections=integer("MVOTING_MAX_CONNECTIONS", 16),
    )


def _ledger_name(configured: str, public_url: str) -> str:
    """The ledger's name: a log's origin is ``<name>/<log id>`` (a schema-less URL)."""
    name = configured or urlsplit(public_url).netloc + urlsplit(public_url).path.rstrip("/")
    name = configured or (f"{name}/ledger" if name else DEFAULT_LEDGER_NAME)
    if not is_key_name(name):
        raise SettingsError(f"MVOTING_LEDGER_NAME is a note key name (no spaces or '+'): {name!r}")
    return name


def _async_url(url: str) -> str:
    """Accept the usual ``postgresql://`` and ``sqlite://`` URLs; use the async drivers."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _secret(configured: str, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "secret"
    if path.exists():
        return path.read_text().strip().encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once agree on the first one written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value.encode()


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().strip('"').strip("'")
    return out
