"""The engine's one configuration file (TOML), validated into typed, immutable settings.

Every value has a default fit for the embedded demo except secrets. Errors name the key
(`queues[0].rings: ...`) so `hotline config check` can report all of them at once.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ari_app.calendar import Correction, load_seed, regions
from ari_app.domain.passwords import is_hash

MEDIA_SCHEMES = ("sound:", "digits:", "number:", "recording:", "tone:", "characters:")
PLACEHOLDERS = frozenset({"agent_id", "agent_name", "queue", "organisation"})
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENDPOINT_RE = re.compile(r"^[A-Za-z]+/[^/\s]+(/[^\s]+)?$")
_SPAN_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
# A phone the API may name as a device: `Tech/endpoint`, nothing after it (no `@context`, no
# `/number`: those are dial strings that leave the site). Not `Local/`, which runs dialplan.
PHONE_RE = re.compile(r"(?!Local/)[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.-]{1,64}", re.IGNORECASE)

Role = Literal["agent", "team_lead", "supervisor", "admin"]
Strategy = Literal["longest-idle", "round-robin", "fewest-calls", "skills"]


class ConfigError(Exception):
    """The configuration is unusable; `errors` lists every problem with its key."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors

    def print_errors(self) -> None:
        """One `error: key: problem` line each, as every `hotline` sub-command reports them."""
        for line in self.errors:
            print(f"error: {line}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_media(items: tuple[str, ...]) -> tuple[str, ...]:
    for item in items:
        if not item.startswith(MEDIA_SCHEMES):
            raise ValueError(f"media {item!r} must start with one of {', '.join(MEDIA_SCHEMES)}")
        for name in _PLACEHOLDER_RE.findall(item):
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{name}}} in {item!r}")
    return items


MediaList = Annotated[tuple[str, ...], Field(default=())]
_Date = date


def _check_timezone(v: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {v!r}") from exc
    return v


def _check_spans(where: str, spans: tuple[str, ...]) -> None:
    for span in spans:
        m = _SPAN_RE.fullmatch(span)
        if not m or (m[1], m[2]) >= (m[3], m[4]):
            raise ValueError(f"{where}: {span!r} is not a HH:MM-HH:MM span")


def _parse_spans(spans: tuple[str, ...]) -> list[tuple[time, time]]:
    out = []
    for span in spans:
        start, end = span.split("-")
        h2, m2 = (int(x) for x in end.split(":"))
        out.append(
            (time.fromisoformat(start), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))
        )
    return out


class Secret(_Strict):
    """A secret given inline or, better, by the name of an environment variable."""

    value: str = Field(default="", repr=False)
    env: str = ""

    def resolve(self) -> str:
        if self.env:
            found = os.environ.get(self.env)
            if found is None:
                raise ConfigError([f"environment variable {self.env} is not set"])
            return found
        return self.value


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


class Hours(_Strict):
    """Opening hours; a queue without `hours` is open 24/7.

    Either `weekly` (spans per weekday name) or the calendar's day types: `working_days`
    spans on the site calendar's working days (working weekends included, holidays not),
    `rest_days` spans on its days off. `holidays` are closed in both.
    """

    timezone: str = "Asia/Shanghai"
    weekly: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    working_days: tuple[str, ...] | None = None
    rest_days: tuple[str, ...] | None = None
    holidays: tuple[date, ...] = ()

    @field_validator("weekly")
    @classmethod
    def _spans(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, spans in v.items():
            if day not in _WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(_WEEKDAYS)})")
            _check_spans(day, spans)
        return v

    @field_validator("working_days", "rest_days")
    @classmethod
    def _day_type_spans(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None:
            _check_spans("span", v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)

    @model_validator(mode="after")
    def _one_kind(self) -> Hours:
        if self.uses_calendar and self.weekly:
            raise ValueError("use either weekly or working_days/rest_days, not both")
        return self

    @property
    def uses_calendar(self) -> bool:
        """True when the hours follow the site calendar's working days and days off."""
        return self.working_days is not None or self.rest_days is not None

    def spans(self, weekday: int) -> list[tuple[time, time]]:
        """Open spans for a weekday (0 = Monday) under `weekly`."""
        return _parse_spans(self.weekly.get(_WEEKDAYS[weekday], ()))

    def day_type_spans(self, working: bool) -> list[tuple[time, time]]:
        """Open spans for a working day or a day off under `working_days`/`rest_days`."""
        return _parse_spans((self.working_days if working else self.rest_days) or ())


class CalendarDay(_Strict):
    """An admin's correction of the site calendar: the date is (not) a working day."""

    date: _Date
    working: bool
    note: Annotated[str, Field(min_length=1)]  # why, and on whose word: the audit trail
    name: str = ""


class SiteCalendarSettings(_Strict):
    """A site's working-day calendar: the shipped seed of its region, plus corrections."""

    region: str = "cn"
    timezone: str = "Asia/Shanghai"
    years: tuple[Annotated[int, Field(ge=1900, le=2200)], ...] = ()
    days: tuple[CalendarDay, ...] = ()

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in regions():
            raise ValueError(f"no shipped calendar for {v!r} (have: {', '.join(regions())})")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)

    @field_validator("days")
    @classmethod
    def _days(cls, v: tuple[CalendarDay, ...], info: ValidationInfo) -> tuple[CalendarDay, ...]:
        errors: list[str] = []
        _dupes("days", "date", [d.date.isoformat() for d in v], errors)
        region = info.data.get("region")
        if region is not None:
            known = load_seed(region).years | set(info.data.get("years", ()))
            for d in v:
                if d.date.year not in known:
                    errors.append(
                        f"{d.date}: {d.date.year} has no data (neither seeded nor in years):"
                        f" list all its days off and working weekends, and add it to years"
                    )
        if errors:
            raise ValueError("; ".join(errors))
        return v

    def corrections(self) -> list[Correction]:
        return [Correction(d.date, d.working, d.note, d.name) for d in self.days]


class OtherSiteCalendar(SiteCalendarSettings):
    """Another site's calendar (for `hotline calendar ... --site NAME`)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class CalendarSettings(SiteCalendarSettings):
    """This site's (`engine.site`) calendar, and other sites' in `sites`."""

    sites: tuple[OtherSiteCalendar, ...] = ()


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


def _dupes(section: str, key: str, values: list[str], errors: list[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            errors.append(f"{section}: duplicate {key} {v!r}")
        seen.add(v)


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


def register(sub: Any) -> None:
    parser = sub.add_parser("config", help="check an engine configuration file")
    csub = parser.add_subparsers(dest="config_command", required=True)
    check = csub.add_parser("check", help="validate FILE and report every error with its key")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_check)
    hs = sub.add_parser(
        "hash-secret", help="hash a PIN or password (read from stdin) for the config"
    )
    hs.set_defaults(func=_hash_secret)


def _check(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        exc.print_errors()
        print(f"{args.file}: {len(exc.errors)} error(s)")
        return 1
    print(
        f"{args.file}: ok ({len(cfg.queues)} queue(s), {len(cfg.agents)} agent(s), "
        f"{len(cfg.users)} user(s))"
    )
    return 0


def _hash_secret(args: argparse.Namespace) -> int:
    import getpass
    import sys

    from ari_app.domain.passwords import hash_secret

    secret = (
        getpass.getpass("secret: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if not secret:
        print("error: empty secret")
        return 1
    print(hash_secret(secret))
    return 0
