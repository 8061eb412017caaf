"""The engine's one configuration file (TOML), validated into typed, immutable settings.

Every value has a default fit for the embedded demo except secrets. Errors name the key
(`queues[0].rings: ...`) so `hotline config check` can report all of them at once.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ari_app.config.callbacks import CallbackSettings
from ari_app.config.fields import (
    _ENDPOINT_RE,
    PHONE_RE,
    ConfigError,
    MediaList,
    Role,
    Secret,
    Strategy,
    _check_media,
    _check_timezone,
    _dupes,
    _Strict,
)
from ari_app.config.opening import (
    CalendarDay,
    CalendarSettings,
    Hours,
    OtherSiteCalendar,
    SiteCalendarSettings,
)
from ari_app.config.survey import SurveySettings
from ari_app.domain.passwords import is_hash

__all__ = [
    "PHONE_RE",
    "AgentSettings",
    "CalendarDay",
    "CalendarSettings",
    "Config",
    "ConfigError",
    "Hours",
    "OtherSiteCalendar",
    "Role",
    "Secret",
    "SiteCalendarSettings",
    "Strategy",
    "load_config",
    "parse_config",
]

class EngineSettings(_Strict):
    site: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "demo"
    organisation: str = "Hotline"
    app: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "hotline"
    data_dir: Path = Path("var")
    journal_max_bytes: Annotated[int, Field(ge=1_000_000)] = 256_000_000
    caller_number_storage: Literal["full", "masked", "hashed"] = "masked"
    caller_number_salt: Secret = Secret()


class AriSettings(_Strict):
    url: str = "http://127.0.0.1:8088"
    username: str = "hotline"
    password: Secret = Secret(value="hotline")
    reconnect_max_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    reconnect_stable_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL of Asterisk's HTTP server")
        return v.rstrip("/")


class DatabaseSettings(_Strict):
    url: str = "sqlite:///var/hotline.sqlite3"
    queue_size: Annotated[int, Field(ge=10)] = 10_000

    @field_validator("url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return v


class MqttSettings(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str = ""
    password: Secret = Secret()
    tls: bool = False
    ca_file: Path | None = None
    outbox_size: Annotated[int, Field(ge=1)] = 10_000
    stats_interval_seconds: Annotated[float, Field(gt=0)] = 5.0


class HttpSettings(_Strict):
    """The engine's own HTTP server: /metrics and the agent/supervisor API."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For / -Proto are believed.
    # Empty (the default): forwarded headers are ignored and the client is the socket's peer.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    body_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    keep_alive_seconds: Annotated[int, Field(ge=1, le=300)] = 5

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            try:
                ipaddress.ip_network(item)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return v


class StandbySettings(_Strict):
    """Hot standby: engines on several hosts share one PostgreSQL, and the one holding a
    PostgreSQL advisory lock (keyed by `engine.site` and `engine.app`) holds the ARI app."""

    enabled: bool = False
    # How often a standby tries to take the lock.
    poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    # How often the holder checks that its lock connection still holds the lock; a check
    # that fails or takes longer than this makes it let go of the ARI app.
    check_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # Silence after which the database server drops a holder's connection (and so its lock)
    # and the holder gives its connection up: TCP keepalives and TCP_USER_TIMEOUT, both ends.
    dead_peer_seconds: Annotated[int, Field(ge=3, le=600)] = 10


class RecordingsSettings(_Strict):
    """Where Asterisk leaves finished recordings, and how long the index keeps them."""

    dir: Path = Path("/var/spool/asterisk/recording")
    retention_days: Annotated[int, Field(ge=1)] = 180


class RingingSettings(_Strict):
    rings: Annotated[int, Field(ge=1, le=20)] = 3
    country: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "cn"
    indications_file: Path | None = None
    rona_pause_after: Annotated[int, Field(ge=0)] = 2


class Overflow(_Strict):
    action: Literal["voicemail", "callback", "queue", "closed"] = "voicemail"
    target: str = ""
    media: MediaList = ()

    @field_validator("media")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_media(v)

    @model_validator(mode="after")
    def _queue_needs_target(self) -> Overflow:
        if self.action == "queue" and not self.target:
            raise ValueError("action 'queue' needs target = the queue's name")
        return self


class WallboardThresholds(_Strict):
    """When the web console's wallboard turns a tile red (`ari_app.console`)."""

    longest_wait_seconds: Annotated[float, Field(gt=0)] = 60.0
    service_level_target: Annotated[float, Field(gt=0, le=1)] = 0.8
    rona_streak: Annotated[int, Field(ge=1, le=100)] = 2


class ConsoleSettings(_Strict):
    """The web console (`ari_app.console`, docs/console.md)."""

    timezone: str = ""  # "today" on the wallboard; "" = the first queue's hours' zone
    session_hours: Annotated[float, Field(gt=0, le=24)] = 12.0

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v) if v else v


class QueueSettings(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    numbers: tuple[str, ...] = ()
    strategy: Strategy = "longest-idle"
    skill: str = ""
    mode: Literal["ringback", "answer"] = "ringback"
    welcome: MediaList = ()
    moh_class: str = "default"
    announce_every_seconds: Annotated[float, Field(ge=0)] = 0.0
    rings: Annotated[int, Field(ge=1, le=20)] | None = None
    country: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    sl_seconds: Annotated[float, Field(gt=0)] | None = None
    short_abandon_seconds: Annotated[float, Field(ge=0)] = 5.0
    max_wait_seconds: Annotated[float, Field(gt=0)] = 300.0
    overflow: Overflow = Overflow()
    closed_media: MediaList = ("sound:hotline-closed",)
    hours: Hours | None = None
    vip_numbers: tuple[str, ...] = ()
    greeting: MediaList = ("sound:hotline-welcome", "digits:{agent_id}", "sound:at-your-service")
    recording_notice: MediaList = ()
    whisper: MediaList = ()
    record: bool = True
    record_format: Literal["wav", "gsm", "ulaw", "alaw", "sln"] = "wav"
    wrapup_seconds: Annotated[float, Field(ge=0)] = 10.0
    wallboard: WallboardThresholds = WallboardThresholds()
    survey: SurveySettings = SurveySettings()
    callback: CallbackSettings = CallbackSettings()

    @field_validator("welcome", "closed_media", "greeting", "recording_notice", "whisper")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_media(v)


class AgentSettings(_Strict):
    id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,16}$")]
    name: str = ""
    endpoint: str
    pin_hash: str = Field(default="", repr=False)
    skills: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    queues: tuple[str, ...] = ()
    team: str = ""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if not _ENDPOINT_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a dialable endpoint like PJSIP/agent1001")
        return v

    @field_validator("pin_hash")
    @classmethod
    def _hashed(cls, v: str) -> str:
        if v and not is_hash(v):
            raise ValueError("must be a hash from `hotline hash-secret`, never the PIN itself")
        return v


class Department(_Strict):
    """A transfer target in the directory: `queue:NAME`, `agent:ID` or an endpoint."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    target: str
    announce: MediaList = ()

    @field_validator("announce")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_media(v)


class UserSettings(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    password_hash: str = Field(repr=False)
    role: Role
    agent_id: str = ""
    team: str = ""
    # The user's own phone (a supervisor's or team lead's), which monitoring may dial.
    device: str = ""

    @field_validator("device")
    @classmethod
    def _phone(cls, v: str) -> str:
        if v and not PHONE_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a phone like PJSIP/sup2001 (no @, no /number)")
        return v

    @field_validator("password_hash")
    @classmethod
    def _hashed(cls, v: str) -> str:
        if not is_hash(v):
            raise ValueError("must be a hash from `hotline hash-secret`, never the password")
        return v


class FeatureCodeSettings(_Strict):
    """Phones' feature codes (`Stasis(hotline,agent,...)`, `Stasis(hotline,supervise,...)`)."""

    supervisor_endpoints: tuple[str, ...] = ()
    pause_reasons: dict[str, str] = Field(default_factory=dict)
    digit_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0

    @field_validator("supervisor_endpoints")
    @classmethod
    def _endpoints(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            if not _ENDPOINT_RE.fullmatch(item):
                raise ValueError(f"{item!r} is not an endpoint like PJSIP/agent1004")
        return v

    @field_validator("pause_reasons")
    @classmethod
    def _reasons(cls, v: dict[str, str]) -> dict[str, str]:
        for code, reason in v.items():
            if not re.fullmatch(r"[0-9]", code):
                raise ValueError(f"code {code!r} must be one digit 0-9 (*23N)")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", reason):
                raise ValueError(f"reason {reason!r} must be 1-32 letters, digits, _ or -")
        return v


class Config(_Strict):
    engine: EngineSettings = EngineSettings()
    ari: AriSettings = AriSettings()
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    http: HttpSettings = HttpSettings()
    recordings: RecordingsSettings = RecordingsSettings()
    standby: StandbySettings = StandbySettings()
    ringing: RingingSettings = RingingSettings()
    queues: tuple[QueueSettings, ...] = (QueueSettings(name="support", numbers=("12345",)),)
    agents: tuple[AgentSettings, ...] = ()
    departments: tuple[Department, ...] = ()
    users: tuple[UserSettings, ...] = ()
    blocklist: tuple[str, ...] = ()
    feature_codes: FeatureCodeSettings = FeatureCodeSettings()
    console: ConsoleSettings = ConsoleSettings()
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        errors: list[str] = []
        queue_names = [q.name for q in self.queues]
        _dupes("queues", "name", queue_names, errors)
        _dupes("agents", "id", [a.id for a in self.agents], errors)
        _dupes("agents", "endpoint", [a.endpoint for a in self.agents], errors)
        _dupes("users", "name", [u.name for u in self.users], errors)
        _dupes("departments", "name", [d.name for d in self.departments], errors)
        _dupes("queues", "numbers", [n for q in self.queues for n in q.numbers], errors)
        known = set(queue_names)
        agent_ids = {a.id for a in self.agents}
        for i, a in enumerate(self.agents):
            for qname in a.queues:
                if qname not in known:
                    errors.append(f"agents[{i}].queues: unknown queue {qname!r}")
        for i, q in enumerate(self.queues):
            if q.overflow.action == "queue" and q.overflow.target not in known:
                errors.append(f"queues[{i}].overflow.target: unknown queue {q.overflow.target!r}")
            if q.strategy == "skills" and not q.skill:
                errors.append(f"queues[{i}].skill: strategy 'skills' needs the skill's name")
        for i, d in enumerate(self.departments):
            kind, _, rest = d.target.partition(":")
            if kind == "queue" and rest not in known:
                errors.append(f"departments[{i}].target: unknown queue {rest!r}")
            elif kind == "agent" and rest not in agent_ids:
                errors.append(f"departments[{i}].target: unknown agent {rest!r}")
            elif kind not in ("queue", "agent") and "/" not in d.target:
                errors.append(
                    f"departments[{i}].target: use queue:NAME, agent:ID"
                    " or an endpoint like PJSIP/trunk/number"
                )
        for i, u in enumerate(self.users):
            if u.role == "agent" and u.agent_id not in agent_ids:
                errors.append(f"users[{i}].agent_id: role 'agent' needs a known agent id")
        _dupes("calendar.sites", "name", [c.name for c in self.calendar.sites], errors)
        for i, c in enumerate(self.calendar.sites):
            if c.name == self.engine.site:
                errors.append(
                    f"calendar.sites[{i}].name: {c.name!r} is this site (engine.site),"
                    " whose calendar is [calendar] itself"
                )
        for i, q in enumerate(self.queues):
            if q.hours and q.hours.uses_calendar and q.hours.timezone != self.calendar.timezone:
                errors.append(
                    f"queues[{i}].hours.timezone: working_days/rest_days follow the site"
                    f" calendar, whose days are local to calendar.timezone"
                    f" ({self.calendar.timezone}); use the same time zone"
                )
        if self.standby.enabled and not self.database.url.startswith("postgresql"):
            errors.append(
                "standby.enabled: hot standby needs a postgresql:// database.url shared by"
                " the engines (the lock is a PostgreSQL advisory lock), not SQLite"
            )
        standby = self.standby
        if standby.enabled and standby.dead_peer_seconds <= 3 * standby.check_seconds:
            errors.append(
                "standby.dead_peer_seconds: must be more than 3 × standby.check_seconds,"
                " so a cut-off holder lets go of the ARI app before its lock is freed"
            )
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def queue(self, name: str) -> QueueSettings:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def queue_for_number(self, number: str) -> QueueSettings | None:
        for q in self.queues:
            if number in q.numbers:
                return q
        return None

    def site_calendar_settings(self, site: str | None = None) -> SiteCalendarSettings:
        """The calendar settings of `site` (default: this one, `engine.site`)."""
        if site is None or site == self.engine.site:
            return self.calendar
        for c in self.calendar.sites:
            if c.name == site:
                return c
        known = [self.engine.site, *(c.name for c in self.calendar.sites)]
        raise KeyError(f"no calendar for site {site!r} (sites: {', '.join(known)})")

    def queue_rings(self, q: QueueSettings) -> int:
        return q.rings if q.rings is not None else self.ringing.rings

    def queue_country(self, q: QueueSettings) -> str:
        return q.country if q.country is not None else self.ringing.country




def _format_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        for piece in msg.split("; "):
            out.append(f"{path}: {piece}" if path else piece)
    return out


def parse_config(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


def load_config(path: Path | str) -> Config:
    """Read and validate a TOML config file; raises ConfigError listing every problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(data)

