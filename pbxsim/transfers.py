"""A phone's SIP REFER: Asterisk's own blind transfer (`core` handling, a Local pair
swapped into the bridge) or only reported to the app (`ari-only`), and
`transfer_progress`.
"""

from __future__ import annotations

from pbxsim.core import AriError, PbxCore
from pbxsim.dialplan import PatternError, exten_matches
from pbxsim.model import Channel, Json, Refer


class Transfers(PbxCore):
    """SIP REFER from a phone and the app's transfer_progress."""

    def phone_refer(self, channel_id: str, to: str) -> list[str]:
        """The phone on `channel_id` sends a SIP REFER (blind transfer to extension `to`).

        `core` handling (the default): Asterisk swaps a Local pair into the bridge and its
        ;2 half runs the dialplan into Stasis; returns the pair's ids (;1, ;2). `ari-only`
        (PJSIP_TRANSFER_HANDLING()): only ChannelTransfer is reported; returns [].
        """
        ch = self.channel(channel_id)
        if not ch.is_pjsip or ch.state != "Up":
            raise AriError(409, "REFER needs an answered SIP call")
        if not to or not to.isprintable() or len(to) > 80:
            raise AriError(400, "Refer-To extension is required")
        if ch.transfer_handling == "ari-only":
            self._refer_to_app(ch, to)
            return []
        one, two = self._blind_transfer(ch, to)
        return [one.id, two.id]

    def _referred_by(self, ch: Channel) -> Json:
        out: Json = {"source_channel": self.snap(ch)}
        if ch.bridge is not None:
            br = self.bridges[ch.bridge]
            if len(br.members) == 2:  # ast_bridge_peer(): only a two-party bridge has one
                other = next(m for m in br.members if m != ch.id)
                out["connected_channel"] = self.snap(self.channels[other])
            out["bridge"] = self.bsnap(br)
        return out

    def _transfer_event(self, ch: Channel, refer: Refer, state: str | None) -> None:
        fields: Json = {"refer_to": {"requested_destination": {"destination": refer.destination}},
                        "referred_by": self._referred_by(ch)}
        if state is not None:
            fields["state"] = state
        self._emit(ch.app, "ChannelTransfer", **fields)

    def _refer_to_app(self, ch: Channel, to: str) -> None:
        refer = Refer(to)
        self._transfer_event(ch, refer, None)
        ch.refer = refer
        if ch.bridge is not None:
            # res_pjsip_refer's framehook reconfigures the bridge and rules out native RTP.
            br = self.bridges[ch.bridge]
            self._peer_round(br)
            self._retech(br)

    def transfer_progress(self, channel_id: str, state: str) -> None:
        """POST /channels/{id}/transfer_progress: NOTIFY the phone, report ChannelTransfer.
        Without a REFER waiting for the app it does nothing (204)."""
        ch = self.stasis_channel(channel_id)
        refer = ch.refer
        if refer is None or refer.done:
            return
        if state != "channel_progress":
            refer.done = True  # answered / unavailable / declined end the REFER
        self._transfer_event(ch, refer, state)

    def _blind_transfer(self, ch: Channel, exten: str) -> tuple[Channel, Channel]:
        """Asterisk's own blind transfer of a bridged leg (bridge.c blind_transfer_bridge),
        in agent_phone_blind_transfer's order."""
        if ch.bridge is None:
            raise AriError(409, "REFER refused: the channel is not in a bridge")
        context = self.config.agents_context
        try:
            routed = exten_matches(self.config.transfer_pattern, exten)
        except PatternError as exc:
            raise AriError(500, f"transfer_pattern: {exc}") from exc
        if not routed:
            raise AriError(404, f"REFER refused: no extension {exten} in context {context}")
        app, first_arg = self.config.transfer_app
        if app not in self.apps:
            raise AriError(409, f"REFER refused: Stasis application {app} not registered")
        br = self.bridges[ch.bridge]
        before = self.bsnap(br)
        peers = [self.channels[m] for m in br.members
                 if m != ch.id and self.channels[m].tech != "Recorder"]
        transferee = peers[0] if len(peers) == 1 else None
        ch.held = False
        self._ch_event(ch, "ChannelUnhold")
        if transferee is not None:
            self._setvar(ch, "BLINDTRANSFER", transferee.name)
        for peer in peers:
            self._setvar(peer, "BLINDTRANSFER", ch.name)
        one, two = self._local_pair(exten, context)
        for half in (one, two):
            half.variables["BLINDTRANSFER"] = ch.name  # set before the app sees them
        replacement = self.snap(one)
        # ;2 runs [agents] _1XXX => Stasis(hotline,transfer,${EXTEN}).
        two.state = "Ring"
        self._enter_stasis(two, app, [first_arg, exten], via_dialplan=True, dialplan_event=False)
        # ;1 is imparted into the Stasis bridge in the transferer's place.
        one.app = br.app or ch.app
        one.in_stasis = True
        one.app_name, one.app_data = "Stasis", one.app or ""
        self._ch_event(one, "StasisStart", args=[], replace_channel=self.snap(ch))
        at = br.members.index(ch.id)
        self._leave_bridge(ch)
        one.replaces = ch.id
        self._enter_bridge(br, one, at)
        self._peer_round(br)
        if transferee is not None:
            identity = (transferee.caller_name, transferee.caller_number)
            if (one.connected_name, one.connected_number) != identity:
                one.connected_name, one.connected_number = identity
                self._ch_event(one, "ChannelConnectedLine")
            two.pending_caller = identity  # chan_local copies it to ;2 without publishing
        self._peer_round(br)
        fields: Json = {"bridge": before, "channel": self.snap(ch), "replace_channel": replacement,
                        "context": context, "exten": exten, "is_external": True,
                        "result": "Success"}
        if transferee is not None:
            fields["transferee"] = self.snap(transferee)
        self._emit(br.app or ch.app, "BridgeBlindTransfer", **fields)
        self._retech(br)
        return one, two

    def _local_pair(self, exten: str, context: str) -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{self._unreal_seq:08x}"
        self._unreal_seq += 1
        one, two = (self._new_channel(
            tech="Local", resource=f"{exten}@{context}", channel_id=None, state="Down",
            context=context, exten=exten, priority=1, protocol_id="", name=f"{base};{n}",
        ) for n in (1, 2))
        one.local_partner, two.local_partner = two.id, one.id
        return one, two
