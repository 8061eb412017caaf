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
        allowed, disallowed = self.event_filters.get(name, ([], []))
        return {
            "bridge_ids": sorted(b.id for b in self.bridges.values() if b.app == name),
            "channel_ids": [c.id for c in self.channels.values()
                            if c.app == name and not c.gone and c.tech != "Recorder"],
            "device_names": [], "endpoint_ids": [], "events_allowed": list(allowed),
            "events_disallowed": list(disallowed), "name": name,
        }

    def set_event_filter(self, name: str, body: object) -> Json:
        """`PUT /applications/{app}/eventFilter` as res/stasis/app.c's
        stasis_app_event_filter_set(): no body (or `{}`) empties both lists; a list type
        left out of the body keeps its value; each given list must be an array of objects
        with a non-empty string `type`, else 400 "Invalid format definition" and nothing
        changes; an unknown app answers 404. Returns the application."""
        if name not in self.apps:
            raise AriError(404, "Application not found")
        old = self.event_filters.get(name, ([], []))
        lists = [list(old[0]), list(old[1])]
        if body is None or body == {}:
            lists = [[], []]
        elif isinstance(body, dict):
            for i, key in enumerate(("allowed", "disallowed")):
                if key not in body:
                    continue
                value = body[key]
                if not isinstance(value, list) or not all(
                    isinstance(r, dict) and isinstance(r.get("type"), str) and r["type"]
                    for r in value
                ):
                    raise AriError(400, "Invalid format definition")
                lists[i] = [dict(r) for r in value]
        else:
            raise AriError(400, "Invalid format definition")
        if lists[0] or lists[1]:
            self.event_filters[name] = (lists[0], lists[1])
        else:
            self.event_filters.pop(name, None)
        return self.application(name)

    def visible_channels(self) -> list[Json]:
        return [self.snap(c) for c in self.channels.values()
                if not c.gone and c.tech != "Recorder"]

    def live_channel_count(self) -> int:
        return sum(1 for c in self.channels.values() if not c.gone)
