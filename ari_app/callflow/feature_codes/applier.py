"""Phones' feature-code calls (*21-*24, *31-*33) carried out on the switchboard.

ari_app.callflow.feature_codes.machine parses the Stasis args and runs the login dialogue as
pure steps; this module turns those steps into commands on the feature call's channel
(prompts, digit timer, PIN check, hang-up) and into the switchboard's agent actions. A
feature call is a control call, never a hotline call: it is tagged HOTLINE_ROLE=feature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ari_app.callflow.agents import Agent, AgentError
from ari_app.callflow.desk import Desk
from ari_app.callflow.feature_codes.machine import (
    PROMPTS,
    Action,
    AgentRequest,
    Ask,
    BadRequest,
    FeatureCall,
    Login,
    LoginFlow,
    Refuse,
    Step,
    SuperviseRequest,
    Verify,
    device_of,
    parse_request,
    pause_reason,
)
from ari_app.callflow.feature_codes.machine import ROLE as FEATURE_ROLE
from ari_app.callflow.supervision.machine import MonitorError
from ari_app.domain.commands import (
    GONE_STATUSES,
    ROLE,
    Answer,
    AriCommand,
    CancelTimer,
    CheckPin,
    Hangup,
    Play,
    SetVar,
    StartTimer,
    StopPlayback,
)

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class FeatureCalls:
    """Every live feature-code call, by channel id; commands go through the desk."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        config = desk.config
        self.settings = config.feature_codes
        self.feature_seconds = desk.limits.feature_seconds
        self.agents = desk.agents
        self.channels: dict[str, FeatureCall] = {}  # feature-code calls by channel id
        self.playbacks: dict[str, str] = {}  # playback id -> channel id
        self._by_endpoint = {a.endpoint: a.id for a in config.agents}

    def pin_checked(self, channel_id: str, ok: bool, now: float) -> None:
        feature = self.channels.get(channel_id)
        step = feature.flow.checked(ok) if feature and feature.flow else None
        if feature is None or step is None:
            self.desk.count("feature_late_pin_check")
        else:
            self._step(feature, step, now)

    def start(self, ch: Mapping[str, Any], args: list[Any], now: float) -> None:
        """`Stasis(hotline,agent|supervise,...)` from a phone: a control call, never a
        hotline call (tagged HOTLINE_ROLE=feature, or supervisor once it monitors)."""
        channel_id = ch["id"]
        feature = FeatureCall(channel_id, device_of(str(ch.get("name") or "")))
        request = parse_request(args)
        self.desk.count("feature_calls")
        refusal = ""
        if isinstance(request, SuperviseRequest):
            refusal = self._phone_monitor(feature, request, now)
            if not refusal:
                return
        self.channels[channel_id] = feature
        self.desk.emit(
            SetVar(channel_id, ROLE, FEATURE_ROLE, call_id=channel_id),
            Answer(channel_id, call_id=channel_id),
            StartTimer(("feature", channel_id), self.feature_seconds),
        )
        if isinstance(request, BadRequest):
            self.desk.count("feature_bad_request")
            self.desk.note("warning", f"feature code on {channel_id} refused: {request.reason}")
            self._close(feature, PROMPTS["error"])
        elif refusal:
            self._refused(feature, refusal)
        elif isinstance(request, AgentRequest):
            self._agent(feature, request, now)

    def _phone_monitor(self, feature: FeatureCall, request: SuperviseRequest, now: float) -> str:
        """`*31..*33<agent>`: the supervisor's own channel monitors the agent's live call.
        Returns "" when monitoring started, else why not."""
        if feature.device not in self.settings.supervisor_endpoints:
            return "not_supervisor"
        agent = self.agents.get(request.agent_id)
        call = self.desk.calls.get(agent.call_id) if agent is not None and agent.call_id else None
        if agent is None or call is None or call.agent_id != agent.id:
            return "no_call"
        try:
            self.flow.monitoring.start(
                call.call_id,
                str(request.mode),
                feature.device,
                f"phone:{feature.device}",
                now,
                phone_channel=feature.channel_id,
            )
        except MonitorError as exc:
            return "no_call" if exc.code in ("not_found", "invalid_state") else "monitor_conflict"
        self.desk.count("feature_monitor")
        return ""

    def _agent(self, feature: FeatureCall, request: AgentRequest, now: float) -> None:
        if request.action is Action.LOGIN:
            own = self.agents.get(self._by_endpoint.get(feature.device, ""))
            feature.flow = LoginFlow(
                agent_id=own.id if own is not None else "",
                pin_needed=own is None or bool(own.settings.pin_hash),
                by_phone=own is not None,
                max_attempts=3,
            )
            self._step(feature, feature.flow.start(), now)
            return
        # logout, pause, unpause: the agent logged in on this very phone, no PIN
        agent = self.agents.on_device(feature.device)
        if agent is None:
            self._refused(feature, "not_logged_in")
            return
        try:
            if request.action is Action.LOGOUT:
                self.flow.agent_actions.logout(agent.id, now)
                done = "logout_ok"
            elif request.action is Action.PAUSE:
                reasons = self.settings.pause_reasons
                reason = pause_reason(request.reason_code, reasons)
                self.flow.agent_actions.pause(agent.id, reason, now)
                done = "paused"
            else:
                self._hold_agent(feature, agent, now)
                self.flow.agent_actions.unpause(agent.id, now)
                done = "unpaused"
        except AgentError as exc:
            self._refused(feature, exc.code)
            return
        self.desk.count(f"feature_{request.action}")
        self._close(feature, PROMPTS[done])

    def _step(self, feature: FeatureCall, step: Step, now: float) -> None:
        cid = feature.channel_id
        self.desk.emit(CancelTimer(("digits", cid)))
        if isinstance(step, Ask):
            self._play(feature, step.media)
        elif isinstance(step, Verify):
            self.desk.emit(CheckPin(cid, step.agent_id, step.pin))
        elif isinstance(step, Refuse):
            self._refused(feature, step.reason, step.media)
        elif isinstance(step, Login):
            try:
                event = self.agents.login(step.agent_id, "", feature.device, now, verified=True)
            except AgentError as exc:
                self._refused(feature, exc.code)
                return
            self._hold_agent(feature, self.agents.require(step.agent_id), now)
            self.flow.offering.agent_changed(event)
            self.desk.count("feature_login")
            self._close(feature, PROMPTS["login_ok"])

    def _hold_agent(self, feature: FeatureCall, agent: Agent, now: float) -> None:
        """An agent made available from their phone is offered nothing while that phone
        is still on the feature call: their first offer would find it busy."""
        feature.holds_agent = agent.id
        agent.cool_until = max(agent.cool_until, now + self.feature_seconds)

    def _refused(self, feature: FeatureCall, reason: str, media: tuple[str, ...] = ()) -> None:
        self.desk.count(f"feature_refused_{reason}")
        self._close(feature, media or PROMPTS.get(reason) or PROMPTS["refused"])

    def _play(self, feature: FeatureCall, media: tuple[str, ...]) -> None:
        cid = feature.channel_id
        if feature.prompt:
            self.playbacks.pop(feature.prompt, None)
            self.desk.emit(StopPlayback(feature.prompt, call_id=cid))
        pid = feature.next_playback()
        feature.prompt = pid
        self.playbacks[pid] = cid
        self.desk.emit(Play(cid, pid, media, call_id=cid))

    def _close(self, feature: FeatureCall, media: tuple[str, ...]) -> None:
        """Say how it went, then hang up (when the prompt is over)."""
        feature.closing = True
        self.desk.emit(CancelTimer(("digits", feature.channel_id)))
        self._play(feature, media)

    def digit(self, feature: FeatureCall, digit: str, now: float) -> None:
        flow = feature.flow
        if flow is None or not flow.listening or feature.closing:
            return
        step = flow.digit(digit)
        if step is not None:
            self._step(feature, step, now)
        elif not feature.prompt:
            self._listen(feature)

    def prompt_done(self, pid: str, now: float) -> None:
        feature = self.channels.get(self.playbacks.pop(pid))
        if feature is None or feature.prompt != pid:
            return
        feature.prompt = ""
        cid = feature.channel_id
        if feature.closing:
            self.desk.emit(Hangup(cid, call_id=cid))
        else:
            self._listen(feature)

    def digits_timer(self, channel_id: str, now: float) -> None:
        feature = self.channels.get(channel_id)
        if feature is None or feature.flow is None or feature.closing:
            return
        step = feature.flow.timeout()
        if step is not None:
            self._step(feature, step, now)

    def feature_timer(self, channel_id: str, now: float) -> None:
        if channel_id in self.channels:
            self.desk.count("feature_timeout")
            self.desk.emit(Hangup(channel_id, call_id=channel_id))

    def gone(self, channel_id: str, now: float) -> None:
        feature = self.channels.pop(channel_id, None)
        if feature is None:
            return
        agent = self.agents.get(feature.holds_agent)
        if agent is not None:
            agent.cool_until = now
            self.flow.offering.dispatch(now)
        if not feature.closing:
            self.desk.count("feature_abandoned")
        if feature.prompt:
            self.playbacks.pop(feature.prompt, None)
        self.desk.emit(CancelTimer(("digits", channel_id)), CancelTimer(("feature", channel_id)))
        self.desk.forget(channel_id)

    def failed(self, command: AriCommand, status: int, now: float) -> None:
        feature = self.channels[command.call_id]
        if isinstance(command, Play):
            self.playbacks.pop(command.playback_id, None)
            if feature.prompt == command.playback_id:
                feature.prompt = ""
                if feature.closing or status in GONE_STATUSES:
                    self.desk.emit(Hangup(feature.channel_id, call_id=feature.channel_id))
                else:  # no prompt, but the caller may still type
                    self._listen(feature)
        elif isinstance(command, Hangup) or status in GONE_STATUSES:
            self.gone(feature.channel_id, now)

    def _listen(self, feature: FeatureCall) -> None:
        """(Re)arm the inter-digit timer while the login dialogue waits for digits."""
        if feature.flow is not None and feature.flow.listening:
            timeout = self.settings.digit_timeout_seconds
            self.desk.emit(StartTimer(("digits", feature.channel_id), timeout))
