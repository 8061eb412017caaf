"""The live KPI composition: parameters from the config, the quiet-line drain, and the
wallboard's queue stats from the Switchboard and the fold."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from ari_app.shell.live_kpi import LiveKpi, kpi_params, queue_stats
from kpi.params import make_params
from tests.callflow_rig import Rig, make_config
from tests.test_kpi_edges import Scenario


def test_params_follow_ringing_and_the_queues_common_threshold() -> None:
    same = make_config(sl_seconds=20.0)
    assert kpi_params(same) == make_params(3, "cn", sl_seconds=20.0)
    differ = make_config(extra_queues=({"name": "billing", "sl_seconds": 30.0},),
                         sl_seconds=20.0)
    assert kpi_params(differ).sl_ms == 15_000  # no common T: X·P, the report's default
    unset = make_config()  # no sl_seconds: each queue's own rings × its ring period
    assert kpi_params(unset).sl_ms == 3 * 5_000


def test_params_take_the_queues_short_abandon_limit() -> None:
    both = make_config(
        extra_queues=({"name": "billing", "short_abandon_seconds": 2.0},), short_abandon_seconds=2.0
    )
    assert kpi_params(both).short_abandon_ms == 2_000
    mixed = make_config(extra_queues=({"name": "billing", "short_abandon_seconds": 2.0},))
    assert kpi_params(mixed).short_abandon_ms == 5_000  # no common limit: the default


@pytest.mark.looptime
async def test_a_quiet_line_drains_the_reorder_buffer_into_the_metrics() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=7_000, talk_ms=3_000)
    sc.arrive(20_000, "c2")
    sc.hangup(22_000, "c2")  # abandoned: its end is the stream's last event
    async with LiveKpi(CollectorRegistry(), make_params(3, "cn")) as live:
        for event in sc.events:
            live.append(event)
        # the last 250 ms of event time wait in the buffer for a later event
        assert live.tallies["support"].abandoned == 0
        assert live.state.buffer
        loop = asyncio.get_running_loop()
        fed_at = loop.time()
        await asyncio.wait_for(live.wait_settled(), 5)
        assert loop.time() - fed_at >= live.quiet_seconds
        assert not live.state.buffer
        assert live.tallies["support"].abandoned == 1
        assert live.tallies["support"].answered == 1
        assert live.tallies["support"].service_level() == 1.0  # 7 s wait ≤ T = 15 s


def test_bad_events_are_counted_not_raised() -> None:
    live = LiveKpi(CollectorRegistry(), make_params(3, "cn"))
    live.append({"type": "StasisStart", "timestamp": "yesterday", "channel": {"id": "x"}})
    live.append({"no": "type"})
    assert live.state.counters["bad_timestamp"] == 1
    assert live.state.counters["not_event"] == 1


def test_queue_stats_from_the_switchboard_and_the_fold() -> None:
    rig = Rig()
    rig.login("1001")
    rig.login("1002")
    rig.core.pause("1002", "lunch", rig.now)
    rig.arrive("c1", "13900000001")  # offered to 1001 at once: still waiting, agent ringing
    rig.advance(4.0)
    rig.arrive("c2", "13900000002")
    rig.advance(3.0)
    live = LiveKpi(CollectorRegistry(), make_params(3, "cn"))
    sc = Scenario()
    sc.answered_call(0, "old1", "1001", ring_ms=2_000, talk_ms=1_000)
    sc.answered_call(60_000, "old2", "1001", ring_ms=30_000, talk_ms=1_000)  # waited > T
    for event in sc.events:
        live.append(event)
    live.drain()

    stats = queue_stats(rig.core, live.tallies, rig.now)

    support = stats["support"]
    assert support["waiting"] == 2
    assert support["longest_wait_seconds"] == 7.0
    assert support["agents_logged_in"] == 2
    assert support["agents_ringing"] == 1
    assert support["agents_paused"] == 1
    assert support["agents_available"] == 0
    assert support["answered"] == 2
    assert support["service_level"] == 0.5
