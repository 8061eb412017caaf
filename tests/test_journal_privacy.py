"""The event journal honours caller_number_storage: no caller number at rest, same KPIs."""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from kpi.caller_redaction import CallerRedaction
from kpi.cli import replay_files
from kpi.journal import DIR_MODE, FILE_MODE, JournalWriter, journal_files
from kpi.params import make_params
from kpi.report import summarise

try:  # the engine's rule, wherever the restructuring puts it
    from ari_app.domain.privacy import CallerNumberPolicy
except ImportError:  # pragma: no cover - before the move
    from ari_app.records.caller_number import CallerNumberPolicy  # type: ignore[no-redef]

SALT = "test-salt"
NOON = 1_795_348_800.0  # 2026-11-22T12:00:00Z
CALLS = [
    "full_call", "caller_abandon_while_ringing", "agent_ring_answer", "agent_no_answer",
    "agent_busy", "agent_phone_blind_transfer", "agent_phone_transfer_ari_only",
    "supervisor_spy", "inbound_answer_playback_hangup",
]


def store(storage: str) -> Callable[[str], str]:
    return CallerNumberPolicy(storage, SALT).store  # type: ignore[arg-type]


def trace_lines(traces_dir: Path) -> list[bytes]:
    return [line for name in CALLS
            for line in (traces_dir / f"{name}.jsonl").read_bytes().splitlines() if line]


def caller_ids(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("caller", "connected") and isinstance(value, dict):
                yield value
            yield from caller_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from caller_ids(item)


def input_numbers(lines: list[bytes]) -> set[str]:
    numbers = set()
    for line in lines:
        for cid in caller_ids(orjson.loads(line)):
            if cid.get("number"):
                numbers.add(cid["number"])
    return numbers


def journal_bytes(path: Path) -> bytes:
    data = b""
    for file in journal_files(path):
        raw = file.read_bytes()
        data += gzip.decompress(raw) if file.name.endswith(".gz") else raw
    return data


def write(path: Path, lines: list[bytes], storage: str | None, **kw: Any) -> JournalWriter:
    with JournalWriter(path, clock=lambda: NOON, rotate_daily=False,
                       caller_number=None if storage is None else store(storage), **kw) as w:
        for line in lines:
            w.append(line)
    return w


@pytest.mark.parametrize("storage", ["masked", "hashed"])
def test_journal_holds_no_caller_number(traces_dir: Path, tmp_path: Path, storage: str) -> None:
    lines = trace_lines(traces_dir)
    numbers = input_numbers(lines)
    assert numbers == {"13900001"}  # the traces' caller, in caller and connected line
    assert all(n.encode() in b"".join(lines) for n in numbers)
    path = tmp_path / "journal" / "events.jsonl"
    writer = write(path, lines, storage, max_bytes=100_000)  # rotated and gzipped too
    assert writer.rotated
    assert all(p.name.endswith(".gz") for p in writer.rotated)
    data = journal_bytes(path)
    assert data.count(b"\n") == len(lines)
    for number in numbers:
        assert number.encode() not in data
        assert store(storage)(number).encode() in data  # stored, not dropped
    assert b'"name":"Caller"' not in data  # the caller's display name neither


@pytest.mark.parametrize("storage", ["masked", "hashed"])
def test_fold_report_is_the_same_for_a_redacted_journal(
    traces_dir: Path, tmp_path: Path, storage: str
) -> None:
    raw = replay_files([traces_dir / f"{name}.jsonl" for name in CALLS])
    path = tmp_path / "events.jsonl"
    write(path, trace_lines(traces_dir), storage, max_bytes=100_000)
    redacted = replay_files(journal_files(path))
    for rings in (1, 2, 3):
        params = make_params(rings, "cn")
        for by in (None, "hour"):
            assert summarise(redacted, params, by).to_dict() == \
                summarise(raw, params, by).to_dict()
    assert redacted.counters == raw.counters
    assert redacted.facts == raw.facts


def test_full_storage_writes_events_as_received(traces_dir: Path, tmp_path: Path) -> None:
    lines = trace_lines(traces_dir)
    path = tmp_path / "events.jsonl"
    write(path, lines, None)
    assert path.read_bytes() == b"\n".join(line.strip() for line in lines) + b"\n"


def test_number_repeated_anywhere_is_stored_and_fold_inputs_are_kept(tmp_path: Path) -> None:
    number = "+8613911112222"
    channel = {
        "id": "1795389322.22", "name": "PJSIP/13911112222-00000001", "state": "Ring",
        "caller": {"name": "13911112222", "number": number},
        "connected": {"name": "", "number": ""},
        "dialplan": {"context": "hotline-in", "exten": "13911112222", "priority": 1,
                     "app_data": "hotline,support,8613911112222"},
        "channelvars": {"HOTLINE_ROLE": "caller", "HOTLINE_CALL_ID": "1795389322.22",
                        "CALLBACK": "tel:13911112222"},
    }
    start = {"type": "StasisStart", "timestamp": "2026-11-22T23:15:22.871+0000",
             "args": ["support", "13911112222"], "channel": channel}
    varset = {"type": "ChannelVarset", "timestamp": "2026-11-22T23:15:22.880+0000",
              "variable": "CALLERID(num)", "value": "013911112222", "channel": channel}
    dial = {"type": "Dial", "timestamp": "2026-11-22T23:15:23.000+0000",
            "dialstring": "pstn/13911112222", "peer": {"id": "p1", "name": "PJSIP/pstn-1"}}
    before = orjson.dumps([start, varset, dial])
    policy = store("masked")
    redaction = CallerRedaction(policy)
    out = [redaction.event(e) for e in (start, varset, dial)]
    assert orjson.dumps([start, varset, dial]) == before  # the input is not modified
    text = orjson.dumps(out)
    assert b"13911112222" not in text
    assert b"3911112222" not in text
    assert out[0]["channel"]["caller"] == {"name": policy("13911112222"),
                                           "number": policy(number)}
    assert out[0]["channel"]["dialplan"]["exten"] == policy("13911112222")
    assert out[0]["channel"]["dialplan"]["app_data"] == "hotline,support," + policy(
        "8613911112222")
    assert out[0]["args"] == ["support", policy("13911112222")]
    assert out[1]["value"] == "0" + policy("13911112222")
    assert out[2]["dialstring"] == "pstn/" + policy("13911112222")
    # what the fold reads is untouched
    for key in ("type", "timestamp"):
        assert out[0][key] == start[key]
    assert out[0]["channel"]["id"] == channel["id"]
    assert out[0]["channel"]["channelvars"]["HOTLINE_CALL_ID"] == "1795389322.22"


def test_hotline_variables_are_kept_verbatim() -> None:
    redaction = CallerRedaction(store("hashed"))
    redaction.event({"type": "StasisStart", "channel": {"caller": {"number": "1795389322"}}})
    varset = {"type": "ChannelVarset", "variable": "HOTLINE_CALL_ID", "value": "1795389322.22",
              "channel": {"id": "1795389322.22", "channelvars": {"HOTLINE_AGENT_ID": "1795389322"},
                          "name": "PJSIP/1795389322-1"}}
    out = redaction.event(varset)
    assert out["value"] == "1795389322.22"
    assert out["channel"]["id"] == "1795389322.22"
    assert out["channel"]["channelvars"] == {"HOTLINE_AGENT_ID": "1795389322"}
    assert "1795389322" not in out["channel"]["name"]


def test_short_numbers_are_masked_in_caller_id_only() -> None:
    redaction = CallerRedaction(store("masked"))
    out = redaction.event({"type": "StasisStart", "channel": {
        "caller": {"name": "", "number": "1002"},
        "channelvars": {"HOTLINE_AGENT_ID": "1002"}, "name": "PJSIP/agent1002-1"}})
    assert out["channel"]["caller"]["number"] == "****"
    assert out["channel"]["name"] == "PJSIP/agent1002-1"


def test_text_that_is_not_json_is_dropped_when_redacting(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = write(path, [b"garbage 13911112222", b'{"type":"StasisStart"}'], "masked")
    assert writer.unreadable_dropped == 1
    assert path.read_bytes() == b'{"type":"StasisStart"}\n'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)  # modes must not depend on a careful umask
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("compress", [True, False])
def test_journal_files_and_created_directory_are_private(tmp_path: Path, compress: bool) -> None:
    assert (FILE_MODE, DIR_MODE) == (0o600, 0o700)
    path = tmp_path / "data" / "journal" / "events.jsonl"
    line = b'{"type":"StasisStart","timestamp":"2026-11-22T23:15:22.871+0000"}'
    with JournalWriter(path, max_bytes=200, compress=compress, clock=lambda: NOON) as w:
        for _ in range(10):
            w.append(line)
    files = journal_files(path)
    assert len(files) > 2
    assert {mode(p) for p in files} == {0o600}
    assert mode(path.parent) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.usefixtures("open_umask")
def test_existing_wide_journal_files_are_tightened_and_existing_dir_left(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "events.jsonl"
    old = tmp_path / "events-20261121T000000-0001.jsonl.gz"
    old.write_bytes(gzip.compress(b'{"type":"StasisStart"}\n'))
    path.write_bytes(b'{"type":"StasisStart"}\n')
    old.chmod(0o644)
    path.chmod(0o644)
    with JournalWriter(path, clock=lambda: NOON) as w:
        w.append(b'{"type":"StasisEnd"}')
    assert mode(path) == mode(old) == 0o600
    assert mode(tmp_path) == 0o755  # not created by the writer: the operator's choice
