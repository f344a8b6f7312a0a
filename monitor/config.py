"""Configuration: the TOML file validated once into frozen pydantic models.

``load_config(path)`` reads the file, merges secrets from the environment (``MONITOR_...``) and
from ``*_file`` keys, resolves relative paths against the file's folder, and turns every problem
into one line ``file: key: problem; fix`` inside a ``ConfigError``. This module holds no
business logic and imports nothing from the edges.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from monitor.config_errors import format_validation_error
from monitor.config_sinks import (
    AnySinkSettings,
    AppriseSinkSettings,
    LogSinkSettings,
    SinkSettings,
    TelegramSinkSettings,
    WebhookSinkSettings,
)
from monitor.config_types import (
    FOREVER,
    ApiId,
    IntervalSeconds,
    NonNegative,
    Positive,
    Retention,
    Seconds,
    Section,
    env_name,
    mask_url,
    read_secret_file,
    resolve_path,
)
from monitor.errors import ConfigError
from monitor.telegram.refs import parse_ref
from monitor.tomlfile import read_toml

__all__ = [
    "AnySinkSettings",
    "AppriseSinkSettings",
    "Config",
    "FeedbackSettings",
    "LogSinkSettings",
    "SinkSettings",
    "TelegramSinkSettings",
    "WebhookSinkSettings",
    "env_name",
    "load_config",
    "mask_url",
]

ENV_PREFIX = "MONITOR_"
DEFAULT_DATABASE_FILE = "monitor.db"
SUPPORTED_DATABASES = ("sqlite", "postgresql")


class ServerSettings(Section):
    """Where to reach Telegram when it is not the production DCs (test DCs or a local server)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)]
    dc_id: Annotated[int, Field(ge=1, le=5)] = 2
    rsa_public_key: Path | None = None

    _resolve = field_validator("rsa_public_key")(resolve_path)


class TelegramSettings(Section):
    """The monitoring account: API credentials and its session."""

    api_id: ApiId
    api_hash: SecretStr | None = None
    api_hash_file: Path | None = None
    session: Path = Field(default=Path("monitor.session"), validate_default=True)
    session_string: SecretStr | None = None
    session_string_file: Path | None = None
    server: ServerSettings | None = None

    _resolve = field_validator("session", "api_hash_file", "session_string_file")(resolve_path)

    @model_validator(mode="after")
    def _secrets_from_files(self) -> TelegramSettings:
        if self.api_hash is None and self.api_hash_file is not None:
            object.__setattr__(
                self, "api_hash", read_secret_file(self.api_hash_file, "telegram.api_hash")
            )
        if self.session_string is None and self.session_string_file is not None:
            secret = read_secret_file(self.session_string_file, "telegram.session_string")
            object.__setattr__(self, "session_string", secret)
        return self

    def missing_secret(self) -> str | None:
        """Say that the API hash is missing, if it is.

        Checked only by what talks to Telegram (``run``, ``login``, ``backfill``, a Telegram
        sink, ``check-config``): browsing and rule commands work without it.
        """
        if self.api_hash is not None and self.api_hash.get_secret_value():
            return None
        return (
            "api_hash is missing; set telegram.api_hash, telegram.api_hash_file "
            "or the environment variable MONITOR_TELEGRAM_API_HASH"
        )


class DatabaseSettings(Section):
    """Where flagged posts and the alert outbox live."""

    url: str = ""
    echo: bool = False
    keep_unflagged: Retention = FOREVER
    keep_flagged: Retention = FOREVER

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            return value
        scheme = value.split("://", 1)[0] if "://" in value else ""
        dialect = scheme.split("+", 1)[0]
        if dialect == "postgres":
            dialect = "postgresql"
        if dialect not in SUPPORTED_DATABASES:
            raise PydanticCustomError(
                "database_url",
                "unsupported database URL {url}; use sqlite:///path/to/monitor.db "
                "or postgresql://user@host:5432/dbname",
                {"url": repr(mask_url(value))},
            )
        return _resolve_sqlite_path(value, info)


def _resolve_sqlite_path(url: str, info: ValidationInfo) -> str:
    """Make a relative SQLite file path absolute against the config folder."""
    match = re.fullmatch(r"(sqlite(?:\+\w+)?):///(.*)", url)
    if not match or not match.group(2) or match.group(2) == ":memory:":
        return url
    scheme, path = match.groups()
    resolved = resolve_path(Path(path), info)
    return f"{scheme}:///{resolved}"


class ChannelSettings(Section):
    """One monitored channel; ``ref`` is @name, a t.me link, a numeric id or an invite link."""

    ref: str = Field(min_length=1)
    interval: IntervalSeconds | None = None
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True
    join: bool | None = None
    backfill: NonNegative | None = None

    @field_validator("ref")
    @classmethod
    def _check_ref(cls, value: str) -> str:
        try:
            parse_ref(value)
        except ConfigError as error:
            raise PydanticCustomError("channel_ref", str(error)) from None
        return value


def _unique_channels(channels: list[ChannelSettings]) -> list[ChannelSettings]:
    """Refuse one channel listed twice, in whatever form (``@x`` and ``t.me/x``)."""
    seen: dict[tuple[str, str], int] = {}
    for index, channel in enumerate(channels):
        parsed = parse_ref(channel.ref)
        key = (parsed.kind, parsed.value)
        first = seen.setdefault(key, index)
        if first != index:
            raise PydanticCustomError(
                "duplicate_channel",
                "channels[{index}] ({ref}) is the same channel as channels[{first}] "
                "({first_ref}); list each channel once",
                {
                    "index": index,
                    "ref": repr(channel.ref),
                    "first": first,
                    "first_ref": repr(channels[first].ref),
                },
            )
    return channels


class SchedulerSettings(Section):
    """Defaults for every channel's polling job and for ingestion."""

    interval: IntervalSeconds = 60
    jitter: NonNegative = 10
    misfire_grace: Seconds = 30
    backfill: NonNegative = 20
    backfill_since: datetime | None = None
    alert_max_age: Seconds = 3600
    live: bool = True
    join: bool = True
    store: Literal["all", "flagged"] = "all"
    quiet_factor: Annotated[float, Field(ge=0)] = 6.0
    quiet_after: Seconds = 3600
    quiet_check_interval: IntervalSeconds = 300
    history_requests_per_minute: Positive = 20
    # Re-read the posts of this many recent seconds (0: never) at start and every
    # recheck_interval, for edits and deletions made while nobody watched.
    recheck_window: NonNegative = 172800
    recheck_interval: Seconds = 3600

    @field_validator("backfill_since", mode="before")
    @classmethod
    def _aware_since(cls, value: Any) -> Any:
        """Accept a TOML date, a date string or a datetime; naive means UTC."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise PydanticCustomError(
                    "date", "must be a date like 2026-11-01 (got {got})", {"got": repr(value)}
                ) from None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    resolves_per_hour: Positive = 30
    joins_per_hour: Positive = 20


class RulesSettings(Section):
    """Which rule files are in effect."""

    default_pack: bool = True
    files: list[Path] = Field(default_factory=list)
    disabled: list[str] = Field(default_factory=list)
    # The learned scorer: on by default with the pack; ``weights`` is a file written by
    # ``monitor rules train`` (default: the weights shipped with the pack).
    scorer: bool | None = None
    weights: Path | None = None

    @field_validator("files")
    @classmethod
    def _resolve_files(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        return [resolve_path(path, info) for path in value]

    @field_validator("weights")
    @classmethod
    def _resolve_weights(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)


class DeliverySettings(Section):
    """How alerts are formatted, paced, retried and folded."""

    timezone: str = "UTC"
    backoff_initial: Seconds = 10
    backoff_max: Seconds = 3600
    per_chat_interval: Annotated[float, Field(ge=0)] = 1.0
    per_minute_limit: Positive = 20
    digest_window: Seconds = 300
    dedup_window: Seconds = 21600

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone",
                "unknown time zone {got}; use a name like Europe/Kyiv",
                {"got": repr(value)},
            ) from None
        return value


class ClusterSettings(Section):
    """Several instances over one PostgreSQL: channel leases and failover (issue 14).

    Only PostgreSQL uses these; on SQLite one instance watches every channel.
    """

    # A lease lives this long; its holder renews it every third of it. A dead instance's
    # channels move to the others within two lease periods.
    lease_seconds: Seconds = 30
    # At most this many channels per instance (Telegram lets one account join about 500).
    capacity: Positive = 500
    # An instance whose history requests wait longer than this on a flood wait lets its
    # channels go to the others until the wait is over.
    max_flood_wait: Seconds = 300
    # Channels an instance above its fair share lets go per lease renewal (no thundering herd).
    rebalance_step: Positive = 5


class LoggingSettings(Section):
    """Log level and rendering (the CLI flags override these)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


def _check_port(value: str | None) -> str | None:
    """Refuse a ``host:port`` whose port is above 65535."""
    if value is not None and int(value.rpartition(":")[2]) > 65535:
        raise PydanticCustomError(
            "port",
            "port {port} is above 65535 (got {got}); use a port like 127.0.0.1:9108",
            {"port": int(value.rpartition(":")[2]), "got": repr(value)},
        )
    return value


LISTEN_PATTERN = r"^[\w.\-\[\]:]+:\d{1,5}$"


class MetricsSettings(Section):
    """The optional Prometheus endpoint and the heartbeat that ``monitor health`` reads."""

    listen: str | None = Field(default=None, pattern=LISTEN_PATTERN)
    heartbeat_file: Path = Field(default=Path("monitor.heartbeat"), validate_default=True)
    heartbeat_max_age: Seconds = 180

    _resolve = field_validator("heartbeat_file")(resolve_path)

    _port = field_validator("listen")(_check_port)


class WebSettings(Section):
    """The analyst's desk: where ``monitor web`` (and ``monitor run``, when set) serves it.

    Beyond loopback the desk needs an access token: ``MONITOR_WEB_TOKEN`` or ``token_file``.
    """

    listen: str | None = Field(default=None, pattern=LISTEN_PATTERN)
    token: SecretStr | None = None
    token_file: Path | None = None

    _resolve = field_validator("token_file")(resolve_path)
    _port = field_validator("listen")(_check_port)

    @model_validator(mode="after")
    def _token_from_file(self) -> WebSettings:
        if self.token is None and self.token_file is not None:
            object.__setattr__(self, "token", read_secret_file(self.token_file, "web.token"))
        return self


class FeedbackSettings(Section):
    """Signed feedback links in webhook alerts: where the desk is reached, and the key.

    ``public_url`` is the desk's address as the webhook's readers reach it (links are
    ``<public_url>/feedback/<token>``); ``secret`` signs the links and the desk checks them.
    """

    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    secret: SecretStr | None = None
    secret_file: Path | None = None

    _resolve = field_validator("secret_file")(resolve_path)

    @model_validator(mode="after")
    def _secret(self) -> FeedbackSettings:
        if self.secret is None and self.secret_file is not None:
            object.__setattr__(self, "secret", read_secret_file(self.secret_file, "secret"))
        return self

    @property
    def links(self) -> bool:
        """Tell whether webhook alerts carry feedback links (an address and a secret)."""
        return self.public_url is not None and self.secret is not None


class Config(Section):
    """The whole configuration, as validated from one TOML file."""

    telegram: TelegramSettings | None = None
    database: DatabaseSettings = DatabaseSettings()
    channels: list[ChannelSettings] = Field(default_factory=list)
    scheduler: SchedulerSettings = SchedulerSettings()
    rules: RulesSettings = RulesSettings()
    alerts: list[AnySinkSettings] = Field(default_factory=list)
    delivery: DeliverySettings = DeliverySettings()
    cluster: ClusterSettings = ClusterSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    source: Path | None = Field(default=None, exclude=True)

    _channels = field_validator("channels")(_unique_channels)

    @model_validator(mode="after")
    def _unique_sink_names(self) -> Config:
        seen: set[str] = set()
        for sink in self.alerts:
            if sink.name in seen:
                raise PydanticCustomError(
                    "duplicate_sink",
                    "two sinks are named {name}; give each [[alerts]] a unique name",
                    {"name": repr(sink.name)},
                )
            seen.add(sink.name)
        return self

    @property
    def base_dir(self) -> Path:
        """Return the folder relative paths in the config resolve against."""
        return self.source.parent if self.source else Path.cwd()

    def channel_interval(self, ref: str) -> float:
        """Return the poll interval configured for channel ``ref`` (else the default)."""
        setting = next((c for c in self.channels if c.ref == ref), None)
        if setting is not None and setting.interval is not None:
            return float(setting.interval)
        return float(self.scheduler.interval)

    def sink(self, name: str) -> AnySinkSettings | None:
        """Return the sink called ``name``, if configured."""
        return next((sink for sink in self.alerts if sink.name == name), None)


def _merge_environment(data: dict[str, Any], environ: dict[str, str]) -> None:
    """Fill secrets from ``MONITOR_*`` variables; the environment wins over the file."""
    telegram = data.get("telegram")
    for key in ("api_hash", "session_string", "api_id"):
        value = environ.get(f"{ENV_PREFIX}TELEGRAM_{key.upper()}")
        if value:
            if not isinstance(telegram, dict):
                telegram = data["telegram"] = {}
            telegram[key] = value
    if "MONITOR_DATABASE_URL" in environ:
        database = data.setdefault("database", {})
        if isinstance(database, dict):
            database["url"] = environ["MONITOR_DATABASE_URL"]
    if environ.get(f"{ENV_PREFIX}WEB_TOKEN"):
        web = data.setdefault("web", {})
        if isinstance(web, dict):
            web["token"] = environ[f"{ENV_PREFIX}WEB_TOKEN"]
    _merge_sink_environment(data.get("alerts"), environ)
    if environ.get(f"{ENV_PREFIX}FEEDBACK_SECRET"):
        feedback = data.setdefault("feedback", {})
        if isinstance(feedback, dict):
            feedback["secret"] = environ[f"{ENV_PREFIX}FEEDBACK_SECRET"]


def _merge_sink_environment(sinks: Any, environ: dict[str, str]) -> None:
    if not isinstance(sinks, list):
        return
    for sink in sinks:
        if not isinstance(sink, dict):
            continue
        sink.setdefault("name", sink.get("kind", ""))
        prefix = f"{ENV_PREFIX}ALERTS_{env_name(str(sink['name']))}_"
        for key in ("bot_token", "secret", "urls"):
            value = environ.get(prefix + key.upper())
            if value:
                # Apprise URLs hold no spaces: the variable lists them separated by whitespace.
                sink[key] = value.split() if key == "urls" else value


def _default_database_url(data: dict[str, Any], base_dir: Path) -> None:
    database = data.setdefault("database", {})
    if isinstance(database, dict) and not database.get("url"):
        database["url"] = f"sqlite:///{(base_dir / DEFAULT_DATABASE_FILE).resolve()}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found; pass --config PATH, set MONITOR_CONFIG, "
            "or copy config.example.toml to monitor.toml"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None


def parse_config(
    data: dict[str, Any],
    *,
    source: Path,
    environ: dict[str, str] | None = None,
) -> Config:
    """Validate already-parsed TOML ``data`` as if it came from the file ``source``.

    Raises:
        ConfigError: one line per problem, each naming ``source`` and the key.
    """
    environ = dict(os.environ) if environ is None else environ
    base_dir = source.resolve().parent
    _merge_environment(data, environ)
    _default_database_url(data, base_dir)
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source, data)) from None
    return config.model_copy(update={"source": source.resolve()})


def load_config(path: Path, *, environ: dict[str, str] | None = None) -> Config:
    """Read and validate the TOML file at ``path``.

    Args:
        path: the config file; relative paths inside it resolve against its folder.
        environ: the environment to read ``MONITOR_*`` secrets from (default: os.environ).

    Raises:
        ConfigError: the file is missing, is not TOML, or does not validate.
    """
    return parse_config(_read_toml(path), source=path, environ=environ)


def default_config(base_dir: Path) -> Config:
    """Return the configuration used when no file exists: defaults, SQLite in ``base_dir``."""
    return parse_config({}, source=base_dir / "monitor.toml")
