"""The AGI line protocol and the hooks' pure decisions, without sockets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ari_app.agi.hooks import (
    agent_id_from_interface,
    decide_route,
    media_commands,
    normalise_number,
)
from ari_app.agi.protocol import (
    AgiProtocolError,
    Hangup,
    Response,
    ResponseParser,
    format_command,
    parse_env_line,
)
from ari_app.config.settings import parse_config
from ari_app.domain.privacy import mask


def test_env_line() -> None:
    assert parse_env_line("agi_callerid: 13800138000") == ("agi_callerid", "13800138000")
    assert parse_env_line("agi_calleridname: ") == ("agi_calleridname", "")
    assert parse_env_line("agi_request: agi://h:4573/route") == (
        "agi_request",
        "agi://h:4573/route",
    )


@pytest.mark.parametrize(
    "line", ["hello", "callerid: 1", "agi_Caller ID: x", ": x", "GET VARIABLE"]
)
def test_env_line_malformed(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_env_line(line)


def test_format_command_quotes_what_needs_quoting() -> None:
    assert format_command("GET", "VARIABLE", "HOTLINE_QUEUE") == b"GET VARIABLE HOTLINE_QUEUE\n"
    assert format_command("STREAM", "FILE", "hello-world", "") == b'STREAM FILE hello-world ""\n'
    assert format_command("SET", "VARIABLE", "X", 'a "b" c\\d') == (
        b'SET VARIABLE X "a \\"b\\" c\\\\d"\n'
    )


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\rb", "a\0"])
def test_format_command_refuses_injection(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        format_command("SET", "VARIABLE", "X", bad)


def test_format_command_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        format_command("")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=1", Response(code=200, result="1")),
        ("200 result=0", Response(code=200, result="0")),
        ("200 result=1 (support)", Response(code=200, result="1", data="support")),
        (
            "200 result=1 (a (nested) value)",
            Response(code=200, result="1", data="a (nested) value"),
        ),
        ("200 result=1 ()", Response(code=200, result="1", data="")),
        (
            "200 result=0 endpos=12345",
            Response(code=200, result="0", extra={"endpos": "12345"}),
        ),
        (
            "200 result=35 (dtmf) endpos=8000",
            Response(code=200, result="35", data="dtmf", extra={"endpos": "8000"}),
        ),
        ("200 result=-1 endpos=0", Response(code=200, result="-1", extra={"endpos": "0"})),
        ("510 Invalid or unknown command", Response(code=510, text="Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            Response(code=511, text="Command Not Permitted on a dead channel or intercept routine"),
        ),
    ],
)
def test_result_lines(line: str, expected: Response) -> None:
    assert ResponseParser().feed(line) == expected


def test_endpos_and_ok() -> None:
    r = ResponseParser().feed("200 result=0 endpos=12345")
    assert isinstance(r, Response)
    assert r.ok
    assert r.endpos == 12345
    r2 = ResponseParser().feed("510 Invalid or unknown command")
    assert isinstance(r2, Response)
    assert not r2.ok
    assert r2.endpos is None


def test_usage_block_is_one_response() -> None:
    p = ResponseParser()
    assert p.feed("520-Invalid command syntax.  Proper usage follows:") is None
    assert p.feed(" Usage: STREAM FILE <filename> <escape_digits> [sample offset]") is None
    assert p.feed("  Send the given file.") is None
    r = p.feed("520 End of proper usage.")
    usage = " Usage: STREAM FILE <filename> <escape_digits> [sample offset]"
    assert r == Response(code=520, text=usage + "\n  Send the given file.")
    # the parser is back to single lines afterwards
    assert p.feed("200 result=1") == Response(code=200, result="1")


def test_hangup_notice() -> None:
    assert ResponseParser().feed("HANGUP") == Hangup()


@pytest.mark.parametrize(
    "line",
    ["", "hello", "200", "200 result", "200 result=1 (unclosed", "999x", "201-continued", "2000 x"],
)
def test_malformed_result_lines(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        ResponseParser().feed(line)


CFG = parse_config(
    {
        "blocklist": ["+86 139-0000-0000", "anonymous"],
        "agents": [{"id": "7", "name": "Li", "endpoint": "PJSIP/desk-a"}],
        "queues": [
            {"name": "support", "numbers": ["12345"], "vip_numbers": ["13800138000"]},
            {
                "name": "sales",
                "numbers": ["12346"],
                "hours": {
                    "timezone": "Asia/Shanghai",
                    "weekly": {"mon": ["09:00-18:00"]},
                    "holidays": [date(2026, 11, 30)],
                },
            },
        ],
    }
)
MONDAY_10_SH = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_route_by_dialled_number_and_vip() -> None:
    d = decide_route(CFG, "13800138000", "12345", MONDAY_10_SH)
    assert (d.queue, d.priority, d.route) == ("support", 1, "open")
    d = decide_route(CFG, "13800138001", "12345", MONDAY_10_SH)
    assert (d.queue, d.priority, d.route) == ("support", 0, "open")
    d = decide_route(CFG, "13800138001", "12346", MONDAY_10_SH)
    assert (d.queue, d.route) == ("sales", "open")


def test_unknown_number_goes_to_first_queue() -> None:
    assert decide_route(CFG, "1", "99999", MONDAY_10_SH).queue == "support"


def test_blocklist_is_normalised() -> None:
    assert decide_route(CFG, "+8613900000000", "12345", MONDAY_10_SH).route == "blocked"
    assert decide_route(CFG, "Anonymous", "12345", MONDAY_10_SH).route == "blocked"
    assert decide_route(CFG, "", "12345", MONDAY_10_SH).route == "open"


def test_closed_outside_hours_and_on_holidays() -> None:
    monday_20_sh = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert decide_route(CFG, "1", "12346", monday_20_sh).route == "closed"
    holiday_10_sh = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert decide_route(CFG, "1", "12346", holiday_10_sh).route == "closed"
    # the 24/7 queue is unaffected
    assert decide_route(CFG, "1", "12345", monday_20_sh).route == "open"


def test_blocked_wins_over_closed() -> None:
    monday_20_sh = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert decide_route(CFG, "anonymous", "12346", monday_20_sh).route == "blocked"


def test_no_queues_is_unrouted() -> None:
    d = decide_route(parse_config({"queues": []}), "1", "12345", MONDAY_10_SH)
    assert (d.queue, d.route) == ("", "unrouted")


def test_numbers_are_normalised_before_masking() -> None:
    assert mask(normalise_number("+86 138-0013-8000")) == "**********8000"
    assert normalise_number("(010) 1234-5678") == "01012345678"


@pytest.mark.parametrize(
    ("interface", "expected"),
    [
        ("PJSIP/desk-a", "7"),  # configured agent
        ("pjsip/DESK-A", "7"),
        ("PJSIP/agent1001", "1001"),  # naming convention
        ("Local/1002@agents/n", "1002"),
        ("PJSIP/reception", None),
        ("", None),
    ],
)
def test_agent_id_from_interface(interface: str, expected: str | None) -> None:
    assert agent_id_from_interface(CFG, interface) == expected


def test_media_commands() -> None:
    media = (
        "sound:hotline-welcome",
        "digits:{agent_id}",
        "number:42",
        "characters:{queue}",
        "tone:ring",
        "recording:greeting-{agent_id}",
        "sound:at-your-service",
    )
    values = {"agent_id": "1001", "queue": "support", "agent_name": "", "organisation": "X"}
    assert media_commands(media, values) == [
        ("STREAM", "FILE", "hotline-welcome", ""),
        ("SAY", "DIGITS", "1001", ""),
        ("SAY", "NUMBER", "42", ""),
        ("SAY", "ALPHA", "support", ""),
        ("STREAM", "FILE", "at-your-service", ""),
    ]


def test_media_with_missing_value_is_skipped() -> None:
    media = ("sound:hotline-welcome", "digits:{agent_id}", "sound:at-your-service")
    assert media_commands(media, {"agent_id": ""}) == [
        ("STREAM", "FILE", "hotline-welcome", ""),
        ("STREAM", "FILE", "at-your-service", ""),
    ]
