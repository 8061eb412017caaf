"""Snoop channels: `/channels/{id}/snoop` spies on / whispers to a channel from Stasis.
"""

from __future__ import annotations

from pbxsim.core import AriError, PbxCore
from pbxsim.model import Json


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
        ch.app = app
        ch.in_stasis = True
        ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])
        self._ch_event(ch, "StasisStart", args=args)
        return response
