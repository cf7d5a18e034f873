"""One frozen settings object, read from the environment once.

Every setting has a name, a default and a line of help in ``SETTINGS``; the README's
table is checked against it by a test. Lookup: the environment, then ``DATA/.env``
(``KEY=value`` lines), then the default.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    Setting(
        "MVOTING_TALLY_SHARE_PCT",
        "10",
        "Most of a core (percent) a node spends handing one question's tallies to its "
        "attendees: a large room gets fewer a second (its hosts get every one).",
    ),
    Setting("MVOTING_LOG_LEVEL", "info", "Log level: debug, info, warning, error."),
    Setting(
        "MVOTING_LOG_FORMAT",
        "text",
        "Log lines: text, or json (one object per line); each names its request or connection.",
    ),
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
    Setting("MVOTING_SESSION_DAYS", "14", "Days a host's sign-in lasts (its server-side session)."),
    Setting(
        "MVOTING_SIGNIN_WINDOW_S",
        "900",
        "Window of the sign-in limits: the attempts counted expire this many seconds after "
        "the window's first.",
    ),
    Setting(
        "MVOTING_SIGNIN_ACCOUNT_LIMIT",
        "10",
        "Sign-in attempts per e-mail address per window; a successful one clears them.",
    ),
    Setting(
        "MVOTING_SIGNIN_ADDRESS_LIMIT",
        "30",
        "Sign-in attempts (and password changes) per client address (IPv6: per /64) per window.",
    ),
    Setting("MVOTING_SIGNUP_ADDRESS_LIMIT", "10", "Accounts made per client address per hour."),
    Setting(
        "MVOTING_HASH_THREADS",
        "1",
        "Threads per process hashing passwords (argon2: ~0.2 s of CPU and 64 MiB each).",
    ),
    Setting(
        "MVOTING_HASH_QUEUE",
        "16",
        "Sign-ins waiting for a hashing thread; past them one is refused `unavailable` at once.",
    ),
    Setting("MVOTING_MEDIA_QUOTA_MB", "100", "Storage of uploaded images per host, in MiB."),
    Setting("MVOTING_MEDIA_UPLOADS_PER_HOUR", "120", "Images a host may upload per hour."),
    Setting(
        "MVOTING_MEDIA_GRACE_HOURS",
        "24",
        "Hours an uploaded image no question uses is kept before `mvoting media prune` removes it.",
    ),
    Setting(
        "MVOTING_JOIN_FAILURES_PER_ADDRESS",
        "1000",
        "Failed joins one client address may make in 10 minutes; each one past them locks "
        "it longer (1 s, doubling, up to 15 min).",
    ),
    Setting(
        "MVOTING_JOIN_FAILURES_PER_ROOM",
        "1000",
        "Failed joins of one room number in an hour; each one past them locks its password "
        "joins longer (1 s, doubling, up to 15 min). Join links are never locked.",
    ),
    Setting(
        "MVOTING_BALLOTS_PER_ADDRESS",
        "5000",
        "Ballots one client address (a hall behind one NAT counts as one) may cast on one "
        "question; 0: no limit.",
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
    Setting(
        "MVOTING_OIDC_ISSUER",
        "",
        "OpenID Connect provider citizens may sign in with (its issuer URL, discovery at "
        "/.well-known/openid-configuration); empty: none.",
    ),
    Setting("MVOTING_OIDC_CLIENT_ID", "", "This service's client id at the provider."),
    Setting("MVOTING_OIDC_CLIENT_SECRET", "", "This service's client secret at the provider."),
    Setting(
        "MVOTING_OIDC_NAME",
        "",
        "The provider's name on the sign-in button (Kakao, Naver, ...); empty: its host name.",
    ),
    Setting(
        "MVOTING_JOBS_REDIS_URL",
        "",
        "Valkey server of the scheduled jobs (arq); empty: REDIS_URL's, which must then be "
        "a single server, not a cluster.",
    ),
    Setting(
        "MVOTING_POLL_SHORTEST_S",
        "60",
        "Seconds a citywide poll runs at least, from its opening to its closing.",
    ),
    Setting(
        "MVOTING_POLLS_PER_DAY",
        "20",
        "Polls one citizen or department may open in a day, and one client address.",
    ),
    Setting(
        "MVOTING_PHONE_PEPPER",
        "",
        "Key of the phone-number references (HMAC-SHA256); empty generates one into "
        "DATA/pepper. Every node needs the same; lost, no citizen can sign in by number.",
    ),
    Setting(
        "MVOTING_SMS_PROVIDER",
        "console",
        "How one-time codes are sent: console (written to the log, for development) or "
        "http (POSTed to MVOTING_SMS_URL).",
    ),
    Setting(
        "MVOTING_SMS_URL",
        "",
        'The SMS gateway the http provider POSTs {"to": "+8210...", "text": "..."} to.',
    ),
    Setting("MVOTING_SMS_TOKEN", "", "Bearer token the http provider sends to the gateway."),
    Setting(
        "MVOTING_CODE_LIFETIME_S",
        "600",
        "Seconds a one-time code stays valid (at most 600).",
    ),
    Setting(
        "MVOTING_CODE_FAILURES",
        "5",
        "Wrong codes a number may be given before it is locked for the lock-out, "
        "re-sent codes included.",
    ),
    Setting(
        "MVOTING_CODE_LOCKOUT_S",
        "3600",
        "Seconds a number stays locked for codes after its last allowed failure.",
    ),
    Setting("MVOTING_CODE_SENDS_PER_NUMBER", "5", "Codes sent to one number per hour."),
    Setting(
        "MVOTING_CODE_SENDS_PER_ADDRESS",
        "30",
        "Codes one client address (IPv6: per /64) may have sent per hour, and wrong codes "
        "it may give.",
    ),
    Setting(
        "MVOTING_TIMEZONE",
        "",
        "Time zone of the times in exports and summaries (an IANA name, e.g. Asia/Seoul); "
        "empty: the server's zone.",
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
    log_format: str = "text"  #: or "json" (``live.logs``)
    ledger_name: str = "mvoting.localhost/ledger"  # DEFAULT_LEDGER_NAME
    ledger_policy: Path | None = None  #: None: DATA/policy, if the local witnesses wrote it
    local_witnesses: int = 4
    checkpoint_interval: float = 2.0
    tally_share: float = 0.25  #: of a core, for one question's attendees (``live.wire.pacing``)
    session_days: int = 14
    signin_window: int = 900  #: seconds
    signin_account_limit: int = 10
    signin_address_limit: int = 30
    signup_address_limit: int = 10  #: per hour
    hash_threads: int = 1
    hash_queue: int = 16
    media_quota: int = 100 * 1024 * 1024  #: bytes
    media_uploads_per_hour: int = 120
    media_grace: float = 24 * 3600.0  #: seconds
    join_failures_per_address: int = 1000
    join_failures_per_room: int = 1000
    ballots_per_address: int = 5000
    header_timeout: float = 10.0
    max_connections: int = 20_000
    timezone: str = "UTC"  #: an IANA zone name
    jobs_redis_url: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: Secret = field(default_factory=lambda: Secret(b""), repr=False)
    oidc_name: str = ""
    poll_shortest: int = 60  #: seconds
    polls_per_day: int = 20
    phone_pepper: Secret = field(default_factory=lambda: Secret(b""), repr=False)
    sms_provider: str = "console"
    sms_url: str = ""
    sms_token: Secret = field(default_factory=lambda: Secret(b""), repr=False)
    code_lifetime: int = 600  #: seconds
    code_failures: int = 5
    code_lockout: int = 3600  #: seconds
    code_sends_per_number: int = 5  #: per hour
    code_sends_per_address: int = 30  #: per hour
    #: citizens a new poll's notifications are read, inserted and sent for at once
    #: (``live.notify.fanout``); not read from the environment
    notify_batch: int = 1_000

    @property
    def zone(self) -> tzinfo:
        """The zone of the times people read (exports, summaries)."""
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)

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
    provider = get("MVOTING_SMS_PROVIDER").strip().lower()
    if provider not in {"console", "http"}:
        raise SettingsError(f"MVOTING_SMS_PROVIDER: console or http, not {provider!r}")
    if provider == "http" and not get("MVOTING_SMS_URL").startswith(("http://", "https://")):
        raise SettingsError("MVOTING_SMS_PROVIDER=http needs MVOTING_SMS_URL (an http(s) URL)")
    if get("MVOTING_OIDC_ISSUER") and not (
        get("MVOTING_OIDC_ISSUER").startswith(("https://", "http://"))
        and get("MVOTING_OIDC_CLIENT_ID")
    ):
        raise SettingsError("MVOTING_OIDC_ISSUER needs an http(s) URL and MVOTING_OIDC_CLIENT_ID")
    level = get("MVOTING_LOG_LEVEL").lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise SettingsError(f"MVOTING_LOG_LEVEL: debug, info, warning or error, not {level!r}")
    log_format = get("MVOTING_LOG_FORMAT").strip().lower()
    if log_format not in {"text", "json"}:
        raise SettingsError(f"MVOTING_LOG_FORMAT: text or json, not {log_format!r}")
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
        tally_share=min(integer("MVOTING_TALLY_SHARE_PCT", 1), 100) / 100,
        log_level=level,
        log_format=log_format,
        ledger_name=_ledger_name(get("MVOTING_LEDGER_NAME"), get("MVOTING_PUBLIC_URL")),
        ledger_policy=Path(get("MVOTING_LEDGER_POLICY")) if get("MVOTING_LEDGER_POLICY") else None,
        local_witnesses=integer("MVOTING_LOCAL_WITNESSES", 0),
        checkpoint_interval=integer("MVOTING_CHECKPOINT_INTERVAL_MS", 10) / 1000,
        session_days=integer("MVOTING_SESSION_DAYS", 1),
        signin_window=integer("MVOTING_SIGNIN_WINDOW_S", 1),
        signin_account_limit=integer("MVOTING_SIGNIN_ACCOUNT_LIMIT", 1),
        signin_address_limit=integer("MVOTING_SIGNIN_ADDRESS_LIMIT", 1),
        signup_address_limit=integer("MVOTING_SIGNUP_ADDRESS_LIMIT", 1),
        hash_threads=integer("MVOTING_HASH_THREADS", 1),
        hash_queue=integer("MVOTING_HASH_QUEUE", 0),
        media_quota=integer("MVOTING_MEDIA_QUOTA_MB", 1) * 1024 * 1024,
        media_uploads_per_hour=integer("MVOTING_MEDIA_UPLOADS_PER_HOUR", 1),
        media_grace=integer("MVOTING_MEDIA_GRACE_HOURS", 0) * 3600.0,
        join_failures_per_address=integer("MVOTING_JOIN_FAILURES_PER_ADDRESS", 0),
        join_failures_per_room=integer("MVOTING_JOIN_FAILURES_PER_ROOM", 0),
        ballots_per_address=integer("MVOTING_BALLOTS_PER_ADDRESS", 0),
        header_timeout=integer("MVOTING_HEADER_TIMEOUT_MS", 100) / 1000,
        max_connections=integer("MVOTING_MAX_CONNECTIONS", 16),
        timezone=_timezone(get("MVOTING_TIMEZONE"), env),
        jobs_redis_url=get("MVOTING_JOBS_REDIS_URL"),
        oidc_issuer=get("MVOTING_OIDC_ISSUER").rstrip("/"),
        oidc_client_id=get("MVOTING_OIDC_CLIENT_ID"),
        oidc_client_secret=Secret(get("MVOTING_OIDC_CLIENT_SECRET").encode()),
        oidc_name=get("MVOTING_OIDC_NAME") or urlsplit(get("MVOTING_OIDC_ISSUER")).hostname or "",
        poll_shortest=integer("MVOTING_POLL_SHORTEST_S", 1),
        polls_per_day=integer("MVOTING_POLLS_PER_DAY", 1),
        phone_pepper=Secret(_secret(get("MVOTING_PHONE_PEPPER"), data_dir, "pepper")),
        sms_provider=provider,
        sms_url=get("MVOTING_SMS_URL"),
        sms_token=Secret(get("MVOTING_SMS_TOKEN").encode()),
        code_lifetime=min(integer("MVOTING_CODE_LIFETIME_S", 1), 600),
        code_failures=integer("MVOTING_CODE_FAILURES", 1),
        code_lockout=integer("MVOTING_CODE_LOCKOUT_S", 1),
        code_sends_per_number=integer("MVOTING_CODE_SENDS_PER_NUMBER", 1),
        code_sends_per_address=integer("MVOTING_CODE_SENDS_PER_ADDRESS", 1),
    )


_UTC_NAMES = frozenset({"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "Greenwich"})


def _timezone(configured: str, env: Mapping[str, str]) -> str:
    """The zone named, else the server's (``TZ``, ``/etc/timezone``, ``/etc/localtime``)."""
    name = configured.strip() or _server_zone(env)
    if name.removeprefix("Etc/") in _UTC_NAMES:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"MVOTING_TIMEZONE: no time zone named {name!r}") from None
    return name


def _server_zone(env: Mapping[str, str]) -> str:
    tz = env.get("TZ", "").lstrip(":")
    candidates = [tz] if tz else []
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    with contextlib.suppress(OSError):
        target = str(Path("/etc/localtime").resolve())
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    for name in candidates:
        if name.removeprefix("Etc/") in _UTC_NAMES:
            return "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


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


def _secret(configured: str, data_dir: Path, name: str = "secret") -> bytes:
    """The configured value, else ``DATA/<name>``, written with a new random value once."""
    if configured:
        return configured.encode()
    path = data_dir / name
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
