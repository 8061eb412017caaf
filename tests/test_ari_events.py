"""Every trace event parses, is a spec event type, and carries the spec's fields."""

from __future__ import annotations

import typing
from pathlib import Path

import orjson
import pytest

from ari_app.ari.events import KNOWN_EVENT_TYPES, TYPED_EVENTS, EventParser, parse_frame
from ari_app.ari.spec import AriSpec, load_spec
from tests.conftest import TRACES

TRACE_FILES = sorted(TRACES.glob("*.jsonl"))


@pytest.fixture(scope="module")
def spec() -> AriSpec:
    return load_spec()


def test_known_types_are_the_spec_event_types(spec: AriSpec) -> None:
    assert spec.event_types() == KNOWN_EVENT_TYPES


def test_typed_events_match_spec_models(spec: AriSpec) -> None:
    for name, td in TYPED_EVENTS.items():
        fields = set(typing.get_type_hints(td))
        assert fields <= spec.event_fields(name), (name, fields - spec.event_fields(name))
        model = spec.models[name]
        own_required = model.required()
        assert own_required <= td.__required_keys__, (name, own_required - td.__required_keys__)


@pytest.mark.parametrize("trace", TRACE_FILES, ids=[p.stem for p in TRACE_FILES])
def test_trace_events_parse_and_conform(trace: Path, spec: AriSpec) -> None:
    parser = EventParser()
    count = 0
    for line in trace.read_bytes().splitlines():
        if b'"probe"' in line and orjson.loads(line).get("probe") == "request":
            continue
        event = parser.parse(line)
        assert event is not None
        count += 1
        etype = event["type"]
        assert etype in KNOWN_EVENT_TYPES
        allowed = spec.event_fields(etype)
        assert set(event) <= allowed, (etype, set(event) - allowed)
        assert spec.models[etype].required() <= set(event)
        assert event["application"] == "hotline"
    assert parser.stats.parsed == count
    assert parser.stats.rejected == 0
    assert parser.stats.unknown_type == 0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [(b"{", "malformed"), (b"", "malformed"), (b"\xff\xfe", "malformed"), (b"[]", "not_object"),
     (b"42", "not_object"), (b"null", "not_object"), (b'{"x": 1}', "missing_type"),
     (b'{"type": ""}', "missing_type"), (b'{"type": ["Dial"]}', "missing_type")],
)
def test_bad_frames_are_rejected_with_a_reason(frame: bytes, reason: str) -> None:
    from ari_app.ari.events import FrameError

    with pytest.raises(FrameError) as info:
        parse_frame(frame)
    assert info.value.reason == reason
    parser = EventParser()
    assert parser.parse(frame) is None
    assert getattr(parser.stats, reason) == 1
    assert parser.stats.rejected == 1


def test_unknown_type_passes_through_counted() -> None:
    parser = EventParser()
    event = parser.parse(b'{"type": "ChannelTeleported", "application": "hotline"}')
    assert event == {"type": "ChannelTeleported", "application": "hotline"}
    assert parser.stats.unknown_type == 1
    assert parser.stats.rejected == 0
