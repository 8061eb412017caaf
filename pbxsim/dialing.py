"""Outbound channels: `/channels/create`, originate, `/dial`, and how a phone rings,
answers, is busy or unreachable, or is not answered in time.
"""

from __future__ import annotations

from pbxsim.config import EndpointBehaviour
from pbxsim.core import AriError, PbxCore
from pbxsim.model import Channel, Json


class Dialing(PbxCore):
    """create / originate / dial and the simulated phone's ringing."""

    def _endpoint(self, endpoint: str) -> tuple[str, str, EndpointBehaviour]:
        tech, sep, resource = endpoint.partition("/")
        behaviour = self.endpoints.get(endpoint)
        if not sep or not resource or behaviour is None:
            raise AriError(500, "Allocation failed", key="error")
        return tech, resource, behaviour

    def _outbound(self, endpoint: str, channel_id: str | None, variables: dict[str, str],
                  app: str, announce_vars: bool) -> Channel:
        tech, resource, _ = self._endpoint(endpoint)
        ch = self._new_channel(
            tech=tech, resource=resource, channel_id=channel_id, state="Down",
            context=self.config.agents_context, exten="s", priority=1,
            protocol_id=self._sip_callid(),
        )
        if announce_vars:
            ch.app = app
        for name, value in variables.items():
            if announce_vars:
                self._setvar(ch, name, str(value))
            else:
                ch.variables[name] = str(value)
        ch.app = app
        return ch

    def originate(self, *, endpoint: str, app: str | None, app_args: str, channel_id: str | None,
                  timeout: int, originator: str | None, caller_id: str | None,
                  variables: dict[str, str], extension: str | None = None) -> Json:
        if not app and not extension:
            raise AriError(400, "Application or extension must be specified")
        orig = self.channel(originator, "Originator channel not found", 400) if originator else None
        stasis_app = app or self.config.transfer_app[0]
        ch = self._outbound(endpoint, channel_id, variables, stasis_app, announce_vars=False)
        ch.originated = True
        ch.originator = originator
        if orig is not None:
            # dial.c copies the originator's caller id (as it is now, published or not).
            ch.connected_name, ch.connected_number = orig.pending_caller or (
                orig.caller_name, orig.caller_number)
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        if app:
            ch.dial_app = (app, tuple(a for a in app_args.split(",") if a) if app_args else ())
        else:
            entry = self.config.dialplan.get(extension or "")
            ch.dial_app = (entry.app, entry.args) if entry else None
        if caller_id:
            ch.caller_number = caller_id
        self.stats.originates += 1
        response = self.snap(ch)
        self._start_dial(ch, timeout if timeout > 0 else None, dialstring_always=True)
        return response

    def create(self, *, endpoint: str, app: str, app_args: str, channel_id: str | None,
               originator: str | None, variables: dict[str, str]) -> Json:
        orig = self.channel(originator, "Originator channel not found", 400) if originator else None
        ch = self._outbound(endpoint, channel_id, variables, app, announce_vars=True)
        ch.originator = originator
        ch.ari_created = True
        response = self.snap(ch)
        args = [a for a in app_args.split(",") if a] if app_args else []
        connected = (orig.caller_name, orig.caller_number) if orig is not None else None

        def enter() -> None:
            self._enter_stasis(ch, app, args, via_dialplan=True, dialplan_event=True)
            if connected is not None:
                ch.connected_name, ch.connected_number = connected
                self._ch_event(ch, "ChannelConnectedLine")

        # The channel's own thread runs Stasis(): with timing on, after this answer.
        self._enter_stasis_later(ch, enter)
        return response

    def dial(self, channel_id: str, caller: str | None, timeout: int) -> None:
        ch = self.stasis_channel(channel_id)
        if caller:
            self.channel(caller, "Caller channel not found", 404)
        if ch.state != "Down" or ch.dialing:
            raise AriError(409, "Channel is not in the Down state")
        if ch.bridge:
            self._peer_round(self.bridges[ch.bridge])
        self._start_dial(ch, timeout if timeout > 0 else None, dialstring_always=False)

    def _dial_event(self, ch: Channel, status: str, always: bool) -> None:
        dialstring = ch.resource if (always or not status) else ""
        self._emit(ch.app, "Dial", dialstatus=status, dialstring=dialstring, forward="",
                   peer=self.snap(ch))

    def _start_dial(self, ch: Channel, timeout: float | None, dialstring_always: bool) -> None:
        behaviour = self.endpoints.get(f"{ch.tech}/{ch.resource}", EndpointBehaviour())
        ch.dialing = True
        if behaviour.busy or behaviour.unavailable:
            self._dial_event(ch, "", dialstring_always)
            cause, tech_cause, status = (17, 486, "BUSY") if behaviour.busy else (
                20, 404, "CHANUNAVAIL")
            self._ch_event(ch, "ChannelHangupRequest", cause=cause, tech_cause=tech_cause)
            self._dial_event(ch, status, dialstring_always)
            ch.dialing = False
            self._end_channel(ch, cause, tech_cause)
            return
        # Three threads race here; all three orders are in the traces. Unless the phone pins
        # it, a bridged channel reports RINGING before its state change (supervisor_spy),
        # others Dial(""), state change, RINGING (agent_no_answer, full_call).
        order = behaviour.ringing_order or ("ringing_first" if ch.bridge else "dial_first")
        if order == "state_first":
            self._ringing_state(ch)
        self._dial_event(ch, "", dialstring_always)
        if order == "dial_first":
            self._ringing_state(ch)
        self._dial_event(ch, "RINGING", dialstring_always)
        if order == "ringing_first":
            self._ringing_state(ch)
        if behaviour.answer_after is not None:
            self._after(ch, behaviour.answer_after,
                        lambda: self._phone_answers(ch, dialstring_always))
        if timeout is not None:
            self._after(ch, timeout, lambda: self._dial_timeout(ch, dialstring_always))

    def _ringing_state(self, ch: Channel) -> None:
        ch.state = "Ringing"
        self._ch_event(ch, "ChannelStateChange")

    def _phone_answers(self, ch: Channel, dialstring_always: bool) -> None:
        if ch.gone or not ch.dialing:
            return
        ch.dialing = False
        if ch.bridge:
            self._peer_round(self.bridges[ch.bridge])
        self._set_up(ch)
        self._dial_event(ch, "ANSWER", dialstring_always)
        hangup_after = self.endpoints.get(f"{ch.tech}/{ch.resource}",
                                          EndpointBehaviour()).hangup_after
        if hangup_after is not None:
            self._after(ch, hangup_after, lambda: self._phone_hangs_up(ch))
        if ch.originated and ch.dial_app is not None and not ch.in_stasis:
            app, args = ch.dial_app
            self._enter_stasis_later(ch, lambda: self._enter_stasis(
                ch, app, args, via_dialplan=True, dialplan_event=False))

    def _phone_hangs_up(self, ch: Channel) -> None:
        """The phone's `hangup_after` ran out: its user hangs up (BYE)."""
        if not ch.gone:
            self._remote_hangup(ch, cause=None, tech_cause=None)

    def _dial_timeout(self, ch: Channel, dialstring_always: bool) -> None:
        if ch.gone or not ch.dialing:
            return
        ch.dialing = False
        if ch.originated and not ch.in_stasis:
            # Originate gives up silently: only ChannelDestroyed (cause 19, SIP 480).
            self._destroy(ch, 19, 480)
            return
        self._dial_event(ch, "NOANSWER", dialstring_always)
        self._ch_event(ch, "ChannelHangupRequest", cause=19, tech_cause=480)
        self._end_channel(ch, 19, 480)
