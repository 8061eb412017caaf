"""The simulated Asterisk: a state machine over channels, bridges, playbacks and recordings.

No I/O except writing recordings: time comes from `now()` (the event loop's clock), delays
from `later()` (loop.call_later), and every ARI event goes to `sink(app, event)`. The order
and content of events (including Asterisk's BRIDGEPEER and RTPAUDIOQOS noise) follow the
recorded traces in tests/data/ari/traces; the rules fitted to them are noted inline.

`Pbx` combines one module per concern over the shared state of `core.PbxCore`:
`channels` (a channel's life, hangups), `dialing` (create / originate / dial),
`bridging`, `playbacks`, `recordings`, `transfers` (REFER) and `snoop`; the listings
(endpoints, applications, channels) are here.
"""

from __future__ import annotations

from pbxsim.bridging import Bridging
from pbxsim.channels import ChannelLifecycle
from pbxsim.config import EndpointBehaviour
from pbxsim.core import AriError
from pbxsim.dialing import Dialing
from pbxsim.model import Json
from pbxsim.playbacks import Playbacks
from pbxsim.recordings import Recordings
from pbxsim.snoop import Snooping
from pbxsim.transfers import Transfers


class Pbx(ChannelLifecycle, Dialing, Bridging, Playbacks, Recordings, Transfers, Snooping):
    """The whole simulated Asterisk: every concern over one shared state."""

    def endpoint_list(self) -> list[Json]:
        out = []
        for key, behaviour in sorted(self.endpoints.items()):
            tech, _, resource = key.partition("/")
            out.append(self.endpoint_json(tech, resource, behaviour))
        return out

    def endpoint_json(self, tech: str, resource: str,
                      behaviour: EndpointBehaviour | None = None) -> Json:
        behaviour = behaviour or self.endpoints.get(f"{tech}/{resource}")
        if behaviour is None:
            raise AriError(404, "Endpoint not found")
        ids = [c.id for c in self.channels.values()
               if c.tech == tech and c.resource == resource and not c.gone]
        return {"channel_ids": ids, "resource": resource,
                "state": "offline" if behaviour.unavailable else "online", "technology": tech}

    def application(self, name: str) -> Json:
        if name not in self.apps:
            raise AriError(404, "Application not found")
        return {
            "bridge_ids": sorted(b.id for b in self.bridges.values() if b.app == name),
            "channel_ids": [c.id for c in self.channels.values()
                            if c.app == name and not c.gone and c.tech != "Recorder"],
            "device_names": [], "endpoint_ids": [], "events_allowed": [],
            "events_disallowed": [], "name": name,
        }

    def visible_channels(self) -> list[Json]:
        return [self.snap(c) for c in self.channels.values()
                if not c.gone and c.tech != "Recorder"]

    def live_channel_count(self) -> int:
        return sum(1 for c in self.channels.values() if not c.gone)
