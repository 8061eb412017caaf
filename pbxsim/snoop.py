"""Snoop channels: `/channels/{id}/snoop` spies on / whispers to a channel from Stasis.

A snoop is an audiohook on the snooped channel plus a channel of its own, read on a 20 ms
timer (res/ari/../res_stasis_snoop.c). It can be recorded like any channel in Stasis
(`/channels/{snoop}/record`): `spy=both` gives the two directions of the snooped channel
mixed, as MixMonitor does. When the snooped channel hangs up its audiohooks are detached;
the snoop's next read (`snoop_read`: "if any active audiohooks are done hangup") returns
nothing, so the snoop leaves Stasis and hangs up by itself, finishing its recordings; the
snooped channel is destroyed only then (the snoop held a reference to it).
"""

from __future__ import annotations

import functools

from pbxsim.core import AriError, PbxCore
from pbxsim.model import Channel, Json

SNOOP_TICK = 0.02  # the snoop's read timer: 20 ms frames


class Snooping(PbxCore):
    """Snoop channels on a channel in Stasis or not."""

    def snoop(self, channel_id: str, *, app: str, app_args: str, spy: str, whisper: str,
              snoop_id: str | None) -> Json:
        target = self.channel(channel_id)
        if not app:
            raise AriError(400, "Application name is required")
        if spy == "none" and whisper == "none":
            raise AriError(400, "Spy and whisper cannot both be none")
        ch = self._new_channel(
            tech="Snoop", resource=target.id, channel_id=snoop_id, state="Up",
            context="default", exten="s", priority=1, protocol_id="",
            name=f"Snoop/{target.id}-{self._snoop_seq:08x}",
        )
        self._snoop_seq += 1
        ch.snoop_target = target.id
        target.snoops.append(ch.id)
        response = self.snap(ch)
        if target.bridge:
            # The audiohook reconfigures the bridge (one pass) and rules out native RTP.
            self._peer_round(self.bridges[target.bridge])
            self._retech(self.bridges[target.bridge])
        args = [a for a in app_args.split(",") if a] if app_args else []
        ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])

        def enter() -> None:
            # the snoop's own thread runs Stasis: with timing on, after the REST answer
            ch.app = app
            ch.in_stasis = True
            self._ch_event(ch, "StasisStart", args=args)

        ch.app = app  # watched from the start (a hang-up before StasisStart is reported)
        self._enter_stasis_later(ch, enter)
        return response

    def _snooped_gone(self, target: Channel) -> None:
        """The snooped channel hung up: each of its snoops ends at its next read."""
        for snoop_id in list(target.snoops):
            snoop = self.channels.get(snoop_id)
            if snoop is not None and not snoop.gone:
                self._after(snoop, SNOOP_TICK, functools.partial(self._snoop_ends, snoop))

    def _snoop_ends(self, snoop: Channel) -> None:
        """snoop_read() returned NULL: recordings finish, Stasis ends, the snoop is hung up
        (no ChannelHangupRequest: nobody asked; no ChannelDestroyed, as in the traces)."""
        if snoop.gone:
            return
        self._leave_all(snoop)
        self._destroy(snoop, 16, None)
