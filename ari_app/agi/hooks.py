"""The FastAGI hooks: `route` (pre-routing from the dialplan) and `greet-agent`.

Decisions are pure functions over the config, the numbers and the instant; the handlers
only fetch their inputs over AGI and write the outcome back as channel variables or media.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ari_app.agi.server import AgiSession, Handler
from ari_app.calendar import YearNotCovered
from ari_app.config.hours import opening_hours
from ari_app.config.settings import Config, QueueSettings
from ari_app.config.site_calendar import site_calendar
from ari_app.domain import variables
from ari_app.domain.privacy import mask

log = logging.getLogger(__name__)

Route = Literal["open", "closed", "blocked", "unrouted"]
Clock = Callable[[], datetime]

_SEPARATORS_RE = re.compile(r"[\s\-().]")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_TRAILING_DIGITS_RE = re.compile(r"(\d+)$")


def normalise_number(number: str) -> str:
    """Drop the separators people write into numbers; `+86 138-0013` == `+861380013`."""
    return _SEPARATORS_RE.sub("", number).lower()


@dataclass(frozen=True)
class RouteDecision:
    queue: str
    priority: int
    route: Route


def decide_route(cfg: Config, caller: str, dialled: str, at: datetime) -> RouteDecision:
    """Queue by dialled number (else the first queue), VIP priority, blocklist, hours.

    Priority follows app_queue's QUEUE_PRIO: higher is served first; VIPs get 1.
    """
    queue = cfg.queue_for_number(dialled) or (cfg.queues[0] if cfg.queues else None)
    who = normalise_number(caller)
    if queue is None:
        return RouteDecision(queue="", priority=0, route="unrouted")
    priority = 1 if who in {normalise_number(n) for n in queue.vip_numbers} else 0
    if who and who in {normalise_number(n) for n in cfg.blocklist}:
        return RouteDecision(queue=queue.name, priority=priority, route="blocked")
    hours = queue.hours
    calendar = site_calendar(cfg) if hours and hours.uses_calendar else None
    if not opening_hours(calendar, on_gap=_calendar_gap)(hours, at):
        return RouteDecision(queue=queue.name, priority=priority, route="closed")
    return RouteDecision(queue=queue.name, priority=priority, route="open")


def _calendar_gap(gap: YearNotCovered) -> None:
    log.error("%s; until then queues' working_days apply Monday-Friday", gap)


def agent_id_from_interface(cfg: Config, interface: str) -> str | None:
    """`PJSIP/agent1001` -> the configured agent with that endpoint, else its trailing digits.

    The fallback matches the usual convention (endpoint `agent1001` is agent 1001) for
    sites whose app_queue members are not listed in the engine's config.
    """
    if not interface:
        return None
    for agent in cfg.agents:
        if agent.endpoint.lower() == interface.lower():
            return agent.id
    resource = interface.partition("/")[2].partition("@")[0].partition("/")[0]
    m = _TRAILING_DIGITS_RE.search(resource)
    return m[1] if m else None


def media_commands(media: tuple[str, ...], values: dict[str, str]) -> list[tuple[str, ...]]:
    """The AGI commands that play a media list; items AGI cannot play are left out.

    An item whose placeholder has no value (agent ID unknown) is left out too: silence is
    better than "agent number <nothing>".
    """
    out: list[tuple[str, ...]] = []
    for item in media:
        missing = [n for n in _PLACEHOLDER_RE.findall(item) if not values.get(n)]
        if missing:
            log.info("agi: skipping %r: no value for %s", item, ", ".join(missing))
            continue
        text = _PLACEHOLDER_RE.sub(lambda m: values[m[1]], item)
        scheme, _, arg = text.partition(":")
        if scheme == "sound":
            out.append(("STREAM", "FILE", arg, ""))
        elif scheme == "digits":
            out.append(("SAY", "DIGITS", arg, ""))
        elif scheme == "number":
            out.append(("SAY", "NUMBER", arg, ""))
        elif scheme == "characters":
            out.append(("SAY", "ALPHA", arg, ""))
        else:
            log.warning("agi: %r cannot be played over AGI; skipped", item)
    return out


def _queue_named(cfg: Config, name: str) -> QueueSettings | None:
    try:
        return cfg.queue(name)
    except KeyError:
        return None


def build_hooks(cfg: Config, clock: Clock | None = None) -> dict[str, Handler]:
    """The hooks by script path, bound to one config and a clock (UTC now by default)."""
    now: Clock = clock or (lambda: datetime.now(UTC))

    async def route(session: AgiSession) -> None:
        args = session.args
        dialled = (args[0] if args else "") or session.env.get("agi_dnid", "")
        if not dialled or dialled == "unknown":
            dialled = session.env.get("agi_extension", "")
        caller = session.env.get("agi_callerid", "")
        caller = "" if caller == "unknown" else caller
        decision = decide_route(cfg, caller, dialled, now())
        log.info(
            "agi route: caller %s dialled %s -> queue %s priority %d %s",
            mask(normalise_number(caller)),
            dialled,
            decision.queue or "-",
            decision.priority,
            decision.route,
        )
        if decision.queue:
            await session.set_variable(variables.QUEUE, decision.queue)
        await session.set_variable(variables.PRIORITY, str(decision.priority))
        await session.set_variable(variables.ROUTE, decision.route)

    async def greet_agent(session: AgiSession) -> None:
        args = session.args
        qname = (args[0] if args else "") or (await session.get_variable(variables.QUEUE) or "")
        queue = _queue_named(cfg, qname) if qname else (cfg.queues[0] if cfg.queues else None)
        if queue is None:
            log.warning("agi greet-agent: unknown queue %r; no greeting", qname)
            return
        agent_id = (args[1] if len(args) > 1 else "") or (
            await session.get_variable(variables.AGENT_ID) or ""
        )
        if not agent_id:
            interface = await session.get_variable("MEMBERINTERFACE") or ""
            agent_id = agent_id_from_interface(cfg, interface) or ""
        agent_name = next((a.name for a in cfg.agents if a.id == agent_id), "")
        values = {
            "agent_id": agent_id,
            "agent_name": agent_name,
            "queue": queue.name,
            "organisation": cfg.engine.organisation,
        }
        for words in media_commands(queue.greeting, values):
            wait = 120.0 if words[0] == "STREAM" else 60.0
            answer = await session.command(*words, wait_seconds=wait)
            if not answer.ok or answer.result == "-1":
                log.warning("agi greet-agent: %s %s failed (%s)", *words[:2], answer.code)

    return {"route": route, "greet-agent": greet_agent}
