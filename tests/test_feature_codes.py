"""The feature codes' pure parts: Stasis args → requests, the calling device, pause reasons,
digit entry and the login dialogue (agent ID, PIN, three attempts)."""

from __future__ import annotations

import pytest

from ari_app.callflow.feature_codes.machine import (
    PROMPTS,
    Action,
    AgentRequest,
    Ask,
    BadRequest,
    Digits,
    Login,
    LoginFlow,
    Refuse,
    SuperviseRequest,
    Verify,
    device_of,
    is_feature,
    parse_request,
    pause_reason,
)
from ari_app.callflow.supervision.machine import Mode
from ari_app.config.settings import ConfigError, parse_config


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["agent", "login"], AgentRequest(Action.LOGIN)),
        (["agent", "logout"], AgentRequest(Action.LOGOUT)),
        (["agent", "pause"], AgentRequest(Action.PAUSE)),
        (["agent", "pause", "3"], AgentRequest(Action.PAUSE, "3")),
        (["agent", "unpause"], AgentRequest(Action.UNPAUSE)),
        (["supervise", "listen", "1001"], SuperviseRequest(Mode.LISTEN, "1001")),
        (["supervise", "whisper", "1002"], SuperviseRequest(Mode.WHISPER, "1002")),
        (["supervise", "barge", "1003"], SuperviseRequest(Mode.BARGE, "1003")),
    ],
)
def test_well_formed_requests(args: list[str], expected: object) -> None:
    assert parse_request(args) == expected


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["agent", "dance"], "unknown action"),
        (["agent", "pause", "12"], "not one digit"),
        (["agent", "pause", "x"], "not one digit"),
        (["agent", "login", "1"], "unexpected arguments"),
        (["agent", "unpause", "1", "2"], "unexpected arguments"),
        (["supervise"], "needs a mode"),
        (["supervise", "listen"], "needs a mode"),
        (["supervise", "spy", "1001"], "unknown mode"),
        (["supervise", "listen", "10 01"], "bad agent ID"),
        (["supervise", "listen", ""], "bad agent ID"),
        (["agent", 7], "strings"),
        (["party", "on"], "unknown feature"),
        ([], "strings"),
    ],
)
def test_malformed_requests_say_why(args: list[object], why: str) -> None:
    result = parse_request(args)
    assert isinstance(result, BadRequest)
    assert why in result.reason


def test_an_agent_leg_of_the_engine_is_not_a_feature_code() -> None:
    assert not is_feature(["agent"])  # /channels/create appArgs=agent
    assert not is_feature(["support"])
    assert not is_feature([])
    assert is_feature(["agent", "login"])
    assert is_feature(["agent", "bogus"])
    assert is_feature(["supervise"])


@pytest.mark.parametrize(
    ("name", "device"),
    [
        ("PJSIP/agent1001-00000014", "PJSIP/agent1001"),
        ("PJSIP/sup-desk-0000001a", "PJSIP/sup-desk"),
        ("SIP/agent1002-0a0b0c0d", "SIP/agent1002"),
        ("PJSIP/agent1001", "PJSIP/agent1001"),
        ("PJSIP/front-desk", "PJSIP/front-desk"),  # no sequence suffix: the name itself
    ],
)
def test_device_is_the_channel_name_without_its_sequence(name: str, device: str) -> None:
    assert device_of(name) == device


def test_pause_reasons_from_the_map_or_the_code() -> None:
    reasons = {"1": "lunch", "2": "training"}
    assert pause_reason("1", reasons) == "lunch"
    assert pause_reason("7", reasons) == "code-7"
    assert pause_reason("", reasons) == "break"


def test_feature_code_settings_are_checked_with_their_keys() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "feature_codes": {
                    "supervisor_endpoints": ["agent1004"],
                    "pause_reasons": {"12": "lunch"},
                    "digit_timeout_seconds": 0,
                }
            }
        )
    joined = "\n".join(err.value.errors)
    assert "feature_codes.supervisor_endpoints:" in joined
    assert "feature_codes.pause_reasons: code '12'" in joined
    assert "feature_codes.digit_timeout_seconds:" in joined
    ok = parse_config(
        {
            "feature_codes": {
                "supervisor_endpoints": ["PJSIP/agent1004"],
                "pause_reasons": {"1": "lunch"},
            }
        }
    )
    assert ok.feature_codes.pause_reasons == {"1": "lunch"}
    assert ok.feature_codes.digit_timeout_seconds == 5.0


# ---------------------------------------------------------------- digits


def test_digits_end_with_hash_star_starts_over_and_noise_is_ignored() -> None:
    d = Digits()
    assert [d.press(c) for c in "12*43A21"] == [None] * 8
    assert d.press("#") == "4321"
    assert d.press("#") == ""  # an empty entry


def test_digits_stop_at_the_maximum() -> None:
    d = Digits(max_digits=4)
    assert [d.press(c) for c in "123"] == [None] * 3
    assert d.press("4") == "1234"
    assert d.text == ""


# ---------------------------------------------------------------- the login dialogue


def typed(flow: LoginFlow, keys: str) -> list[object]:
    return [step for k in keys if (step := flow.digit(k)) is not None]


def test_own_phone_with_a_pin_asks_it_and_logs_in_when_right() -> None:
    flow = LoginFlow(agent_id="1001", pin_needed=True, by_phone=True)
    assert flow.start() == Ask(PROMPTS["pin"])
    assert typed(flow, "4321#") == [Verify("1001", "4321")]
    assert typed(flow, "99#") == []  # nothing is heard while the PIN is checked
    assert flow.checked(True) == Login("1001")
    assert flow.checked(True) is None  # a late answer changes nothing


def test_own_phone_without_a_pin_logs_in_at_once() -> None:
    flow = LoginFlow(agent_id="1001", pin_needed=False, by_phone=True)
    assert flow.start() == Login("1001")
    assert not flow.listening


def test_three_wrong_pins_end_the_call() -> None:
    flow = LoginFlow(agent_id="1001", pin_needed=True, by_phone=True)
    flow.start()
    steps: list[object] = []
    for _ in range(3):
        steps += typed(flow, "1111#")
        steps.append(flow.checked(False))
    assert steps == [
        Verify("1001", "1111"),
        Ask(PROMPTS["retry_pin"]),
        Verify("1001", "1111"),
        Ask(PROMPTS["retry_pin"]),
        Verify("1001", "1111"),
        Refuse(PROMPTS["bad_credentials"], "bad_credentials"),
    ]
    assert flow.digit("1") is None
    assert flow.timeout() is None


def test_silence_and_an_empty_entry_are_failed_attempts() -> None:
    flow = LoginFlow(agent_id="1001", pin_needed=True, by_phone=True)
    flow.start()
    assert flow.timeout() == Ask(PROMPTS["retry_pin"])
    assert flow.digit("#") == Ask(PROMPTS["retry_pin"])
    assert typed(flow, "43") == []
    assert flow.timeout() == Verify("1001", "43")  # the timeout submits what was typed
    assert flow.checked(False) == Refuse(PROMPTS["bad_credentials"], "bad_credentials")


def test_another_phone_asks_the_agent_id_then_the_pin() -> None:
    flow = LoginFlow()
    assert flow.start() == Ask(PROMPTS["agent_id"])
    assert typed(flow, "1002#") == [Ask(PROMPTS["pin"])]
    assert typed(flow, "4321#") == [Verify("1002", "4321")]
    assert flow.checked(False) == Ask(PROMPTS["retry_agent_id"])
    assert flow.agent_id == ""  # asked again from the start
    assert typed(flow, "1003#4321#") == [Ask(PROMPTS["pin"]), Verify("1003", "4321")]
    assert flow.checked(True) == Login("1003")
