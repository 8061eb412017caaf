"""Agents' states from the engine's `HotlineAgentState` events: wrap-up time for AHT.

The latest state per agent is kept (the agents-by-state gauges read it); leaving `wrapup`
concludes a `WrapUp` fact for the last call the agent answered.
"""

from __future__ import annotations

from kpi.facts import WrapUp
from kpi.fold_state import AGENT_STATES, AgentStatus, Event, KpiState, count


def agent_state(state: KpiState, ms: int, event: Event) -> None:
    agent = event.get("agent_id")
    new = event.get("state")
    if type(agent) is not str or not agent or new not in AGENT_STATES:
        count(state, "bad_agent_state")
        return
    assert isinstance(new, str)
    status = state.agents.get(agent)
    if status is not None and status.state == "wrapup" and new != "wrapup":
        if status.wrap_call is None:
            count(state, "wrapup_without_call")
        else:
            queue, at = status.wrap_call
            state.out.append(WrapUp(queue, at, agent, max(0, ms - status.since_ms)))
    if status is not None and status.state == new:
        return
    reason = event.get("reason")
    status = AgentStatus(new, ms, reason if type(reason) is str else "")
    if new == "wrapup":
        status.wrap_call = state.last_call.get(agent)
    state.agents[agent] = status

