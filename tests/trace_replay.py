"""Replay a recorded ARI trace against the simulator and compare, event by event.

The trace's phones and callers become simulator behaviour (ring times, busy, talk and
patience read off the trace); its `probe: request` lines are sent in order, each once the
events that preceded it have arrived — except the events the request itself caused, which
ARI delivers before the response and so precede the request line in the file. Those are
found by walking back from the request over events that concern the objects it names.

Phones' own actions are read off the trace the same way. The order in which each dial's
Dial("") / ChannelStateChange(Ringing) / Dial(RINGING) came out (a race between Asterisk's
threads) becomes the phone's `ringing_order`. A REFER (blind transfer) starts where its
first event is — `ChannelTransfer` without `state` (ari-only) or the transferer's
`ChannelUnhold` before a `BridgeBlindTransfer` (core) — and is sent with
`Simulator.phone_refer` after the events before it, plus the gap the trace shows between
the last of those and the REFER's first event.

Events are compared after canonicalising ids (channel/bridge/playback/recording ids,
channel names, SIP call-ids become <id0>, <id1>... in order of first appearance in each
stream), dropping timestamps and the RTPAUDIOQOS* statistics' values. Events of one
instant (same millisecond in the trace) may come in any order: Asterisk emits them from
different threads.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ari_app.domain.timestamps import parse_ari_timestamp
from pbxsim.config import EndpointBehaviour
from pbxsim.core import AriError
from pbxsim.server import Simulator

Json = dict[str, Any]
SNAPSHOT_KEYS = ("channel", "peer", "caller", "replace_channel", "transferee",
                 "transfer_target", "connected_channel", "source_channel")
INBOUND_CONTEXTS = ("hotline-in",)
WAIT_SECONDS = 60.0
SETTLE_SECONDS = 3.0
TIMING_TOLERANCE = 0.25


@dataclass
class Action:
    kind: str  # "request" | "call" | "refer"
    needed: int  # trace events that must have arrived before it is taken
    item: Json
    trace_channel: str = ""  # calls: the caller's channel; refers: the transferer's
    target: str = ""  # refers: the extension transferred to
    talk: float | None = None
    patience: float | None = None
    delay: float = 0.0  # the recording app's think time after the last awaited event


@dataclass
class ReplayReport:
    name: str
    trace_events: int = 0
    sim_events: int = 0
    matched: int = 0
    reordered: int = 0
    mismatches: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    timing: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not (self.mismatches or self.missing or self.timing or self.rest)

    def summary(self) -> str:
        lines = [f"{self.name}: {self.matched}/{self.trace_events} events matched, "
                 f"{self.reordered} same-instant reorderings, {len(self.extra)} extra after end"]
        for title, items in (("MISMATCH", self.mismatches), ("MISSING", self.missing),
                             ("TIMING", self.timing), ("REST", self.rest), ("EXTRA", self.extra)):
            lines.extend(f"  {title}: {x}" for x in items[:40])
        return "\n".join(lines)


def load_trace(path: Path) -> list[Json]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _is_event(item: Json) -> bool:
    return "probe" not in item


def _ts(event: Json) -> float:
    return parse_ari_timestamp(str(event["timestamp"]))


def event_refs(event: Json) -> set[str]:
    """Ids of the objects an event is about."""
    refs: set[str] = set()
    for key in SNAPSHOT_KEYS:
        snap = event.get(key)
        if isinstance(snap, dict) and "id" in snap:
            refs.add(str(snap["id"]))
    for key in ("bridge", "playback", "destination_bridge"):
        snap = event.get(key)
        if isinstance(snap, dict) and "id" in snap:
            refs.add(str(snap["id"]))
    for key in ("referred_by", "refer_to"):  # ChannelTransfer nests its snapshots
        nested = event.get(key)
        if isinstance(nested, dict):
            refs |= event_refs(nested)
    for key in ("playback", "recording"):
        snap = event.get(key)
        if isinstance(snap, dict):
            if "name" in snap:
                refs.add(str(snap["name"]))
            target = str(snap.get("target_uri", ""))
            refs.add(target.partition(":")[2])
    return refs


def request_targets(req: Json) -> tuple[set[str], set[str]]:
    """(ids the request acts on, ids of channels it creates)."""
    params = req.get("params") or {}
    parts = [p for p in str(req["path"]).split("/") if p]
    targets = set(parts[1:2]) if len(parts) > 1 else set()
    if len(parts) > 3:
        targets.add(parts[3])
    created: set[str] = set()
    for key in ("channelId", "snoopId"):
        if key in params:
            created.add(str(params[key]))
    for key in ("bridgeId", "playbackId", "name"):
        if key in params:
            targets.add(str(params[key]))
    if "channel" in params:
        targets |= set(str(params["channel"]).split(","))
    return targets | created, created


def caused_run_start(items: list[Json], pos: int) -> int:
    """Index of the first event (before `pos`) that the request at `pos` caused."""
    targets, created = request_targets(items[pos])
    start = pos
    pending: list[Json] = []
    j = pos - 1
    while j >= 0 and _is_event(items[j]):
        event = items[j]
        if _spontaneous(event, items[pos], created):
            break
        if event_refs(event) & targets:
            if any(p["timestamp"] != event["timestamp"] for p in pending):
                break
            pending = []
            start = j
        else:
            pending.append(event)
        j -= 1
    return start


def _spontaneous(event: Json, req: Json, created: set[str]) -> bool:
    """Events no request causes: a phone answering, a call arriving in Stasis."""
    etype = event["type"]
    if etype == "StasisStart":
        return event["channel"]["id"] not in created
    if etype in ("BridgeBlindTransfer", "ChannelUnhold"):
        return not str(req["path"]).endswith("/hold")
    if etype == "ChannelTransfer":
        return "state" not in event  # the phone's REFER; with a state it is /transfer_progress
    if etype == "Dial":
        return event["dialstatus"] not in ("", "RINGING")
    if etype == "ChannelStateChange" and event["channel"]["state"] == "Up":
        return not str(req["path"]).endswith("/answer")
    return False


RINGING_MARKS: dict[tuple[str, ...], str] = {("dial", "state", "ringing"): "dial_first",
                 ("state", "dial", "ringing"): "state_first",
                 ("dial", "ringing", "state"): "ringing_first"}


def ringing_orders(events: Iterable[Json]) -> dict[str, str]:
    """Per dialled channel id, how Dial("") / state Ringing / Dial(RINGING) were ordered."""
    marks: dict[str, list[str]] = {}
    for e in events:
        if e["type"] == "Dial" and e["dialstatus"] in ("", "RINGING"):
            mark, cid = ("dial" if not e["dialstatus"] else "ringing"), str(e["peer"]["id"])
        elif e["type"] == "ChannelStateChange" and e["channel"]["state"] == "Ringing":
            mark, cid = "state", str(e["channel"]["id"])
        else:
            continue
        seen = marks.setdefault(cid, [])
        if mark not in seen:
            seen.append(mark)
    return {cid: RINGING_MARKS[tuple(m)] for cid, m in marks.items()
            if tuple(m) in RINGING_MARKS}


def derive_endpoints(events: Iterable[Json], *, ringing: bool = True
                     ) -> dict[str, EndpointBehaviour]:
    """Each dialled phone's behaviour as the trace shows it (`ringing`: and its race)."""
    events = list(events)
    orders = ringing_orders(events) if ringing else {}
    ringing_at: dict[str, float] = {}
    result: dict[str, EndpointBehaviour] = {}
    for e in events:
        if e["type"] != "Dial":
            continue
        peer = e["peer"]
        endpoint = str(peer["name"]).rsplit("-", 1)[0]
        status = e["dialstatus"]
        order = orders.get(str(peer["id"]))
        if status == "RINGING":
            ringing_at[peer["id"]] = _ts(e)
            result.setdefault(endpoint, EndpointBehaviour(answer_after=None, ringing_order=order))
        elif status == "ANSWER":
            start = ringing_at.get(peer["id"], _ts(e))
            result[endpoint] = EndpointBehaviour(answer_after=round(_ts(e) - start, 3),
                                                 ringing_order=order)
        elif status == "BUSY":
            result[endpoint] = EndpointBehaviour(busy=True)
        elif status == "CHANUNAVAIL":
            result[endpoint] = EndpointBehaviour(unavailable=True)
    return result


def refer_starts(items: list[Json]) -> dict[int, tuple[str, str]]:
    """Item index of each REFER's first event -> (transferer's channel id, extension)."""
    starts: dict[int, tuple[str, str]] = {}
    for i, item in enumerate(items):
        if not _is_event(item):
            continue
        if item["type"] == "ChannelTransfer" and "state" not in item:
            source = item["referred_by"]["source_channel"]["id"]
            to = item["refer_to"]["requested_destination"].get("destination", "")
            starts[i] = (str(source), str(to))
        elif item["type"] == "BridgeBlindTransfer" and item.get("is_external"):
            transferer = str(item["channel"]["id"])
            first = i
            for j in range(i - 1, -1, -1):
                e = items[j]
                if not _is_event(e) or _ts(item) - _ts(e) > 0.05:
                    break
                if e["type"] == "ChannelUnhold" and e["channel"]["id"] == transferer:
                    first = j
                    break
            starts[first] = (transferer, str(item["exten"]))
    return starts


def plan(items: list[Json]) -> list[Action]:
    """The requests and inbound calls of a trace, each with what must precede it."""
    event_index: dict[int, int] = {}
    count = 0
    for i, item in enumerate(items):
        event_index[i] = count
        if _is_event(item):
            count += 1
    # Channels the app hung up (a DELETE that found the channel: not the caller's BYE).
    deleted = {str(r["path"]).split("/")[2] for r in items
               if not _is_event(r) and r["method"] == "DELETE" and int(r["status"]) < 300
               and str(r["path"]).startswith("/channels/")}
    actions: list[Action] = []
    events = [e for e in items if _is_event(e)]
    refers = refer_starts(items)
    seen: set[str] = set()
    for i, item in enumerate(items):
        if i in refers:
            needed = event_index[i]
            delay = round(_ts(item) - _ts(events[needed - 1]), 3) if needed else 0.0
            transferer, to = refers[i]
            actions.append(Action("refer", needed, item, transferer, target=to,
                                  delay=max(0.0, delay)))
        if not _is_event(item):
            start = caused_run_start(items, i)
            needed = event_index[start]
            delay = 0.0
            if needed > 0:
                trigger = _ts(events[needed - 1])
                sent = min(_ts(items[start]) if start < i else item["t"], item["t"])
                delay = max(0.0, round(sent - trigger, 3))
            actions.append(Action("request", needed, item, delay=delay))
            continue
        if item["type"] != "StasisStart":
            continue
        ch = item["channel"]
        if ch["id"] in seen or ch["dialplan"]["context"] not in INBOUND_CONTEXTS:
            continue
        seen.add(ch["id"])
        up = next((_ts(e) for e in items[i:] if _is_event(e) and e["type"] ==
                   "ChannelStateChange" and e["channel"]["id"] == ch["id"]
                   and e["channel"]["state"] == "Up"), None)
        hang = next((_ts(e) for e in items[i:] if _is_event(e) and e["type"] ==
                     "ChannelHangupRequest" and e["channel"]["id"] == ch["id"]
                     and not e.get("soft")), None)
        talk = patience = None
        if hang is not None and ch["id"] not in deleted:
            if up is not None:
                talk = round(hang - up, 3)
            else:
                patience = round(hang - _ts(item), 3)
        needed = event_index[i]
        delay = max(0.0, _ts(item) - _ts(events[needed - 1])) if needed else 0.0
        actions.append(Action("call", needed, item, ch["id"], talk=talk, patience=patience,
                              delay=delay))
    return actions


def _variable_order(items: list[Json], channel_id: str) -> list[str]:
    return [e["variable"] for e in items if _is_event(e) and e["type"] == "ChannelVarset"
            and e["channel"]["id"] == channel_id]


class Canon:
    """Replaces ids in one event stream by <idN>, numbered by first appearance."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def learn(self, event: Json) -> None:
        found: list[str] = []
        for key in SNAPSHOT_KEYS:
            snap = event.get(key)
            if isinstance(snap, dict) and "id" in snap:
                found += [str(snap["id"]), str(snap.get("name", "")),
                          str(snap.get("protocol_id", ""))]
        for key in ("bridge", "destination_bridge"):
            snap = event.get(key)
            if isinstance(snap, dict):
                found.append(str(snap.get("id", "")))
                found += [str(c) for c in snap.get("channels", [])]
        for key in ("playback", "recording"):
            snap = event.get(key)
            if isinstance(snap, dict):
                found.append(str(snap.get("id", snap.get("name", ""))))
        for token in found:
            if token and token not in self.tokens:
                self.tokens[token] = f"<id{len(self.tokens)}>"
                self._pattern = None

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()
                    if k not in ("timestamp", "creationtime")}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, str) and self.tokens:
            if self._pattern is None:
                alternatives = sorted(self.tokens, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(t) for t in alternatives))
            return self._pattern.sub(lambda m: self.tokens[m.group(0)], value)
        return value


def canonical(events: list[Json]) -> list[Json]:
    canon = Canon()
    out = []
    for e in events:
        canon.learn(e)
        c = canon.apply(e)
        if c.get("type") == "ChannelVarset" and str(c.get("variable", "")).startswith(
                "RTPAUDIOQOS"):
            c["value"] = "<qos>"
        out.append(c)
    return out


def _brief(event: Json) -> str:
    who = ""
    for key in ("channel", "peer", "playback", "recording", "bridge"):
        if isinstance(event.get(key), dict):
            who = str(event[key].get("id", event[key].get("name", "")))
            break
    extra = {k: event[k] for k in ("variable", "value", "dialstatus", "cause", "args")
             if k in event}
    state = event.get("channel", {}).get("state", "") if isinstance(event.get("channel"),
                                                                      dict) else ""
    return f"{event.get('type')} {who} {state} {json.dumps(extra)[:160]}"


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'missing in sim' if k not in b else 'extra in sim'}")
            else:
                out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    return [] if a == b else [f"{path}: trace {a!r} != sim {b!r}"]


def compare(name: str, trace_events: list[Json], sim_events: list[Json],
            report: ReplayReport | None = None) -> ReplayReport:
    report = report or ReplayReport(name)
    report.trace_events, report.sim_events = len(trace_events), len(sim_events)
    expected, got = canonical(trace_events), canonical(sim_events)
    order = list(range(len(expected)))
    t0 = _ts(trace_events[0]) if trace_events else 0.0
    s0 = _ts(sim_events[0]) if sim_events else 0.0
    for i in range(len(order)):
        if i >= len(got):
            report.missing += [_brief(trace_events[order[k]]) for k in range(i, len(order))]
            break
        if expected[order[i]] != got[i]:
            instant = trace_events[order[i]]["timestamp"]
            for k in range(i + 1, len(order)):
                if trace_events[order[k]]["timestamp"] != instant:
                    break
                if expected[order[k]] == got[i]:
                    order[i], order[k] = order[k], order[i]
                    report.reordered += 1
                    break
        want, have = expected[order[i]], got[i]
        if want == have:
            report.matched += 1
        else:
            detail = "; ".join(_diff(want, have)[:4])
            report.mismatches.append(f"#{i} {_brief(trace_events[order[i]])} -- {detail}")
        dt_trace = _ts(trace_events[order[i]]) - t0
        dt_sim = _ts(sim_events[i]) - s0
        if abs(dt_trace - dt_sim) > TIMING_TOLERANCE:
            report.timing.append(f"#{i} {want.get('type')}: trace +{dt_trace:.3f}s "
                                 f"sim +{dt_sim:.3f}s")
    report.extra = [_brief(e) for e in sim_events[len(order):]]
    return report


class _Collector:
    def __init__(self) -> None:
        self.events: list[Json] = []
        self.changed = asyncio.Event()

    async def read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))
                self.changed.set()

    async def wait_for(self, count: int, seconds: float) -> bool:
        async def until() -> None:
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()
        try:
            await asyncio.wait_for(until(), seconds)
        except TimeoutError:
            return False
        return True


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, str) and ids:
        pattern = re.compile("|".join(re.escape(t) for t in sorted(ids, key=len, reverse=True)))
        return pattern.sub(lambda m: ids[m.group(0)], value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _learn_ids(trace_events: list[Json], sim_events: list[Json], ids: dict[str, str]) -> None:
    for t, s in zip(trace_events, sim_events, strict=False):
        if t.get("type") != s.get("type"):
            continue
        for key in (*SNAPSHOT_KEYS, "bridge", "playback"):
            ts, ss = t.get(key), s.get(key)
            if (isinstance(ts, dict) and isinstance(ss, dict) and "id" in ts and "id" in ss
                    and ts["id"] != ss["id"]):
                ids.setdefault(str(ts["id"]), str(ss["id"]))


async def replay(sim: Simulator, trace_path: Path, app: str = "hotline",
                 auth: tuple[str, str] = ("hotline", "hotline"),
                 ringing_from_trace: bool = True) -> ReplayReport:
    """Run one trace against a started simulator; the simulator's phones are reconfigured
    (`ringing_from_trace=False` leaves the ringing race to the simulator's own choice)."""
    items = load_trace(trace_path)
    trace_events = [i for i in items if _is_event(i)]
    report = ReplayReport(trace_path.stem)
    for endpoint, behaviour in derive_endpoints(trace_events,
                                                ringing=ringing_from_trace).items():
        sim.set_endpoint(endpoint, behaviour)
    ids: dict[str, str] = {}
    collector = _Collector()
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
        ws = await http.ws_connect(f"{sim.base_url}/ari/events?app={app}")
        reader = asyncio.create_task(collector.read(ws))
        try:
            for action in plan(items):
                if not await collector.wait_for(action.needed, WAIT_SECONDS):
                    report.rest.append(f"gave up waiting for {action.needed} events before "
                                       f"{action.kind} {action.item.get('path', '')}")
                if action.delay > 0.0:
                    await asyncio.sleep(action.delay)
                _learn_ids(trace_events, collector.events, ids)
                if action.kind == "call":
                    ch = action.item["channel"]
                    sim_id = sim.place_call(
                        ch["caller"]["number"], ch["dialplan"]["exten"],
                        patience=action.patience, talk=action.talk,
                        caller_name=ch["caller"]["name"])
                    ids[action.trace_channel] = sim_id
                    await sim.drain()
                    continue
                if action.kind == "refer":
                    transferer = ids.get(action.trace_channel, action.trace_channel)
                    try:
                        sim.phone_refer(transferer, action.target)
                    except AriError as exc:
                        report.rest.append(f"REFER from {action.trace_channel}: {exc}")
                    await sim.drain()
                    continue
                await _send(http, sim.base_url, action.item, ids, items, report)
            await collector.wait_for(len(trace_events), WAIT_SECONDS)
            await asyncio.sleep(SETTLE_SECONDS)
        finally:
            await ws.close()
            reader.cancel()
    return compare(trace_path.stem, trace_events, collector.events, report)


async def _send(http: aiohttp.ClientSession, base: str, req: Json, ids: dict[str, str],
                items: list[Json], report: ReplayReport) -> None:
    params = _substitute(dict(req.get("params") or {}), ids)
    body = req.get("body")
    if isinstance(body, dict) and isinstance(body.get("variables"), dict):
        wanted = _variable_order(items, str((req.get("params") or {}).get("channelId", "")))
        variables = body["variables"]
        ordered = {k: variables[k] for k in wanted if k in variables}
        ordered.update(variables)
        body = {**body, "variables": ordered}
    body = _substitute(body, ids) if body is not None else None
    path = _substitute(str(req["path"]), ids)
    async with http.request(req["method"], f"{base}/ari{path}", params=params,
                            json=body) as resp:
        text = await resp.text()
        got: Any = json.loads(text) if text and resp.content_type == "application/json" else None
    if resp.status != req["status"]:
        report.rest.append(f"{req['method']} {req['path']}: status trace {req['status']} "
                           f"sim {resp.status} {got}")
        return
    want = req.get("response")
    if resp.status >= 400 and want != got:
        report.rest.append(f"{req['method']} {req['path']}: body trace {want} sim {got}")
    elif isinstance(want, dict) and isinstance(got, dict) and set(want) != set(got):
        report.rest.append(f"{req['method']} {req['path']}: keys trace {sorted(want)} "
                           f"sim {sorted(got)}")
