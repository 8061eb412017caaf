"""The call's recording on a snoop of the caller (`spy=both`), on the PBX simulator: one
file spanning the whole talk across an attended transfer, a hold and a blind transfer to a
queue; the call's bridge stays two-party (no recorder member, never softmix); a failed
snoop or record leaves the call going on unrecorded; a restart adopts the recorder."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest

from ari_app.callflow.switchboard import Switchboard
from ari_app.config.hours import is_open
from ari_app.domain.commands import Hangup, RecordSnoop, Snoop
from ari_app.domain.events import Outcome, RecordingReady
from pbxsim.core import AriError
from tests.callflow_rig import channel, make_config
from tests.scenario_rig import Scenario, scenario
from tests.test_transfer_scenarios import all_gone, bridged_call, config, state_is, talking

pytestmark = pytest.mark.looptime


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def watch_bridge(s: Scenario, bridge_id: str) -> list[tuple[int, str]]:
    """(members, technology) of the call's bridge after every simulator event."""
    seen: list[tuple[int, str]] = []
    deliver = s.sim.pbx._sink

    def sink(app: str, event: Any) -> None:
        br = s.sim.pbx.bridges.get(bridge_id)
        if br is not None:
            seen.append((len(br.members), br.technology))
        deliver(app, event)

    s.sim.pbx._sink = sink
    return seen


async def test_one_recording_spans_the_whole_talk_across_transfers_and_hold(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        loop = asyncio.get_running_loop()
        cid = await bridged_call(s, talk=600)
        bridged_at = loop.time()
        seen = watch_bridge(s, f"br-{cid}")
        a1 = f"agent-1001-{cid}"
        assert s.sent("POST", f"/channels/{cid}/snoop")[0].params == {
            "app": "hotline", "appArgs": "recorder", "snoopId": f"rec-{cid}", "spy": "both",
            "whisper": "none",
        }
        assert s.sim.pbx.channels[f"rec-{cid}"].snoop_target == cid
        await asyncio.sleep(10)
        # 1. an attended transfer to 1002: the caller waits alone (music), then 1002 talks
        s.login("1002")
        s.phone("1002", answer_after=2)
        s.engine.transfer(cid, "attended", "agent", "1002")
        await s.sink.wait_for(state_is(cid, "consulting"))
        await asyncio.sleep(8)
        s.engine.complete_transfer(cid)
        await s.engine.quiesce()
        await asyncio.sleep(10)
        # 2. 1002's phone holds the caller for 6 s
        a2 = f"agent-1002-{cid}"
        s.sim.pbx.hold(a2, True)
        await asyncio.sleep(6)
        s.sim.pbx.hold(a2, False)
        await asyncio.sleep(5)
        # 3. a blind transfer to the billing queue: 1003 answers after 3 s
        s.login("1003")
        s.phone("1003", answer_after=3)
        s.engine.transfer(cid, "blind", "queue", "billing")
        await talking(s, cid, nth=3)
        await asyncio.sleep(12)
        hung_up_at = loop.time()
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        [ready] = [e for e in s.sink.events if isinstance(e, RecordingReady)]
        await all_gone(s)
    assert summary.outcome is Outcome.ANSWERED
    assert [t.result for t in summary.transfers] == ["completed", "completed"]
    # one recording, one snoop, one record request, no stop, no bridge recorder
    assert ready.recording.name == f"call-{cid}"
    assert len(s.sent("POST", "/snoop")) == 1
    assert len(s.sent("POST", f"/channels/rec-{cid}/record")) == 1
    assert not s.sent("POST", "/stop")
    assert not s.sent("POST", f"/bridges/br-{cid}/record")
    # the file holds the whole talk: from the bridge to the caller's hang-up, through the
    # consultation, the hold and the second queue (the snoop followed the caller)
    whole = hung_up_at - bridged_at
    assert whole > 50
    assert wav_seconds(tmp_path / f"call-{cid}.wav") == pytest.approx(whole, abs=0.5)
    assert ready.recording.duration_seconds == pytest.approx(whole, abs=1.0)
    assert summary.talk_seconds + summary.hold_seconds <= whole + 0.5
    # the call's bridge never had a third member to mix: at most caller + agent, and the
    # snoop's audiohook only keeps it off native RTP (simple_bridge, as with MixMonitor)
    assert seen
    assert max(n for n, _ in seen) <= 2
    assert {tech for _, tech in seen} <= {"simple_bridge"}
    assert a1 not in s.sim.pbx.channels


async def test_the_recorder_events_are_asterisks(tmp_path: Path) -> None:
    """StasisStart of the snoop (`Stasis(hotline,recorder)`), RecordingStarted and
    RecordingFinished on `channel:rec-<call>`, the snoop's StasisEnd once the caller went
    (no hang-up request: its read failed), then the caller's ChannelDestroyed."""
    async with scenario(config(), tmp_path) as s:
        got: list[dict[str, Any]] = []
        deliver = s.sim.pbx._sink

        def sink(app: str, event: Any) -> None:
            got.append(event)
            deliver(app, event)

        s.sim.pbx._sink = sink
        s.sim.pbx.event_filters.clear()  # every event, RecordingStarted too
        cid = await bridged_call(s, talk=20)
        await s.sink.ended(cid)
        await all_gone(s)
    rec = f"rec-{cid}"
    [start] = [e for e in got if e["type"] == "StasisStart" and e["channel"]["id"] == rec]
    assert start["args"] == ["recorder"]
    assert start["channel"]["dialplan"]["app_data"] == "hotline,recorder"
    assert start["channel"]["name"].startswith(f"Snoop/{cid}-")
    kinds = [(e["type"], (e.get("channel") or {}).get("id") or e.get("recording", {}).get("name"))
             for e in got]
    assert ("RecordingStarted", f"call-{cid}") in kinds
    tail = [k for k in kinds if k[1] in (rec, f"call-{cid}", cid)]
    i = tail.index(("RecordingFinished", f"call-{cid}"))
    assert tail[i:] == [("RecordingFinished", f"call-{cid}"), ("StasisEnd", rec),
                        ("ChannelDestroyed", cid)]
    assert ("ChannelHangupRequest", rec) not in kinds
    finished = next(e for e in got if e["type"] == "RecordingFinished")
    assert finished["recording"]["target_uri"] == f"channel:{rec}"


@pytest.mark.parametrize("fails", ["snoop", "record"])
async def test_a_failed_snoop_or_record_leaves_the_call_unrecorded(
    tmp_path: Path, fails: str
) -> None:
    async with scenario(config(), tmp_path) as s:
        pbx = s.sim.pbx
        if fails == "snoop":
            def snoop(*args: Any, **kw: Any) -> Any:
                raise AriError(404, "Channel not found")

            pbx.snoop = snoop  # type: ignore[method-assign]
        else:
            record = pbx.record

            def refuse(kind: str, target: str, **kw: Any) -> Any:
                if target.startswith("rec-"):
                    raise AriError(422, f"Recording format {kw['fmt']} not supported")
                return record(kind, target, **kw)

            pbx.record = refuse  # type: ignore[method-assign]
        cid = await bridged_call(s, talk=30)
        summary = (await s.sink.ended(cid)).summary
        await all_gone(s)
    assert summary.outcome is Outcome.ANSWERED
    assert summary.hangup_by == "caller"  # talked to the end (30 s after the answer)
    assert summary.talk_seconds > 20
    assert summary.recording == ""
    assert not [e for e in s.sink.events if isinstance(e, RecordingReady)]
    assert s.engine.core.counters["recording_failed"] == 1
    if fails == "record":  # the snoop that records nothing is hung up
        assert s.sent("DELETE", f"/channels/rec-{cid}")


def test_a_restart_adopts_the_recorder_snoop_and_its_recording() -> None:
    def core() -> Switchboard:
        sb = Switchboard(make_config(), ring_period=lambda c: 5.0, is_open=is_open)
        sb.login("1001", "", "PJSIP/agent1001", 0.0, verified=True)
        return sb

    caller = channel("c1", state="Up", channelvars={
        "HOTLINE_ROLE": "caller", "HOTLINE_QUEUE": "support", "HOTLINE_CALL_ID": "c1"})
    agent = channel("agent-1001-c1", state="Up", channelvars={
        "HOTLINE_ROLE": "agent", "HOTLINE_QUEUE": "support", "HOTLINE_CALL_ID": "c1",
        "HOTLINE_AGENT_ID": "1001"})
    snoop = channel("rec-c1", state="Up", channelvars={
        "HOTLINE_ROLE": "", "HOTLINE_QUEUE": "", "HOTLINE_CALL_ID": "", "HOTLINE_AGENT_ID": ""})
    snoop["dialplan"] = {**snoop["dialplan"], "app_data": "hotline,recorder"}
    bridge = {"id": "br-c1", "channels": ["c1", "agent-1001-c1"]}

    sb = core()
    out = sb.reconcile([caller, agent, snoop], [bridge], 100.0, recordings=["call-c1"])
    call = sb.calls["c1"]
    assert (call.recorder, call.recording, call.recording_done) == ("rec-c1", "call-c1", False)
    assert not [c for c in out if isinstance(c, Hangup | Snoop | RecordSnoop)]
    # the caller leaves: the recording ends with its snoop, nothing to stop
    out = sb.on_event({"type": "StasisEnd", "channel": caller}, 130.0)
    assert [type(c).__name__ for c in out if type(c).__name__ in ("StopRecording", "Hangup")] \
        == ["Hangup"]

    # its recording is not live any more: the snoop is hung up, the call goes on unrecorded
    sb = core()
    out = sb.reconcile([caller, agent, snoop], [bridge], 100.0, recordings=[])
    assert Hangup("rec-c1") in out
    assert sb.calls["c1"].recording == ""
    assert sb.counters["unattributed_hung_up"] == 1
