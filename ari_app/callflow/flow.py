"""The rooms of the call flow, by name: how one room asks another to act.

Each room decides one part of a call's life and reaches the others only through their
public methods here (`flow.offering.dispatch(now)`, `flow.ending.end_talk(call, now)`);
what they share lives on the `Desk`. The `Switchboard` builds one `Flow` and routes
events, timers and requests to its rooms.
"""

from __future__ import annotations

from ari_app.callflow.adoption import Adoption
from ari_app.callflow.agent_actions import AgentActions
from ari_app.callflow.answering import Answering
from ari_app.callflow.arrival import Arrival
from ari_app.callflow.callbacks.applier import Callbacks
from ari_app.callflow.desk import Desk
from ari_app.callflow.ending import Ending
from ari_app.callflow.feature_codes.applier import FeatureCalls
from ari_app.callflow.offering import Offering
from ari_app.callflow.overflow import Overflow
from ari_app.callflow.recorder import Recorder
from ari_app.callflow.supervision.applier import Monitoring
from ari_app.callflow.survey.applier import Surveys
from ari_app.callflow.transfer.applier import Transfers
from ari_app.callflow.transfer.phone import PhoneTransfers
from ari_app.callflow.transfer.requests import TransferRequests


class Flow:
    """One instance of every room, sharing one desk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.arrival = Arrival(desk, self)
        self.offering = Offering(desk)
        self.answering = Answering(desk, self)
        self.recorder = Recorder(desk, self)
        self.overflow = Overflow(desk, self)
        self.ending = Ending(desk, self)
        self.agent_actions = AgentActions(desk, self)
        self.monitoring = Monitoring(desk)
        self.transfers = Transfers(desk, self)
        self.transfer_requests = TransferRequests(desk, self)
        self.phone_transfers = PhoneTransfers(desk, self)
        self.features = FeatureCalls(desk, self)
        self.adoption = Adoption(desk, self)
        self.surveys = Surveys(desk, self)
        self.callbacks = Callbacks(desk, self)
        self.offering.before_dispatch = self.callbacks.dispatch
