"""Bad input is a 4xx with a clear message, our own bugs a logged 500 that reveals nothing;
the published OpenAPI document says so; the admin's configuration view leaks no secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ari_app.api import create_api
from ari_app.api.control import CallInfo
from tests.test_api_fakes import (
    FakeClock,
    FakeControl,
    ListSink,
    basic,
    call_app,
    make_config,
)


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.app = create_api(self.config, self.fake, ListSink(), clock=self.clock)

    async def post(self, user: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        reply = await call_app(self.app, "POST", path, headers=basic(user), json=body)
        return reply.status, reply.json()


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/agents/1001/pause", {"reason": "x" * 65}, "body.reason"),
        ("/agents/1001/pause", {"reason": ""}, "body.reason"),
        ("/agents/1001/pause", {"reason": "tab\there"}, "body.reason"),
        ("/agents/1001/pause", {}, "body.reason"),
        ("/agents/1001/pause", {"reason": "ok", "extra": 1}, "body"),  # the name is input too
        ("/agents/1001/pause", ["reason"], "body"),
        ("/calls/c1/monitor", {"mode": "spy", "device": "PJSIP/9"}, "body.mode"),
        ("/calls/c1/monitor", {"mode": "listen", "device": "PJSIP/trunk/0123"}, "body.device"),
        ("/calls/c1/transfer", {"kind": "warm", "target": "billing"}, "body.kind"),
        ("/calls/c1/transfer", {"kind": "blind", "target": "tel:+8612345"}, "body.target"),
    ],
)
async def test_bad_bodies_get_422_naming_the_field(
    rig: Rig, path: str, body: Any, location: str
) -> None:
    status, answer = await rig.post("sue", path, body)
    assert status == 422
    assert answer["error"] == "invalid_request"
    assert location in [f["location"] for f in answer["fields"]]
    assert location in answer["detail"]


async def test_bad_path_ids_get_422(rig: Rig) -> None:
    for path in ("/agents/10-01", "/agents/" + "9" * 17, "/calls/c%201", "/recordings/..%2Fetc"):
        reply = await call_app(rig.app, "GET", path, headers=basic("sue"))
        assert reply.status in (404, 422), path
        assert reply.json()["error"] in ("invalid_request", "not_found")
    reply = await call_app(rig.app, "GET", "/agents/10-01", headers=basic("sue"))
    assert reply.status == 422
    assert "agent_id" in reply.json()["detail"]


async def test_malformed_json_is_422(rig: Rig) -> None:
    scope_headers = {**basic("sue"), "content-type": "application/json"}
    reply = await call_app(rig.app, "POST", "/agents/1001/pause", headers=scope_headers)
    assert reply.status == 422


async def test_a_rejected_pin_is_never_echoed(rig: Rig) -> None:
    rig.fake.set_state("1001", "logged_out")
    reply = await call_app(
        rig.app,
        "POST",
        "/agents/1001/login",
        headers=basic("ann"),
        json={"pin": "12ab34", "device": "PJSIP/1001"},
    )
    assert reply.status == 422
    assert b"12ab34" not in reply.body


async def test_unknown_transfer_targets_are_refused_before_the_engine(rig: Rig) -> None:
    for target, message in [
        ("nowhere", "not a configured department"),
        ("queue:sales", "not a configured queue"),
        ("agent:7777", "not a configured agent"),
    ]:
        status, answer = await rig.post(
            "ann", "/calls/c1/transfer", {"kind": "blind", "target": target}
        )
        assert (status, answer["detail"]) == (422, f"body.target: {message}")
    assert rig.fake.transfers == {}
    for target, resolved in [
        ("legal", "department:legal"),
        ("queue:billing", "queue:billing"),
        ("agent:1002", "agent:1002"),
    ]:
        rig.fake.transfers.clear()
        status, answer = await rig.post(
            "ann", "/calls/c1/transfer", {"kind": "blind", "target": target}
        )
        assert (status, answer["target"]) == (200, resolved)


async def test_engine_refusals_map_to_status_and_message(rig: Rig) -> None:
    assert await rig.post("ann", "/agents/1001/unpause", None) == (
        422,
        {"error": "invalid_state", "detail": "agent 1001 is not paused", "fields": []},
    )
    rig.fake.set_state("1001", "available")
    status, answer = await rig.post(
        "ann", "/agents/1001/login", {"pin": "1234", "device": "PJSIP/1001"}
    )
    assert (status, answer["error"]) == (409, "conflict")
    assert answer["detail"] == "agent 1001 is already logged in on PJSIP/1001"
    status, answer = await rig.post("sue", "/agents/9999/pause", {"reason": "x"})
    assert (status, answer["error"]) == (404, "not_found")


async def test_unknown_routes_and_methods_answer_json(rig: Rig) -> None:
    missing = await call_app(rig.app, "GET", "/nope", headers=basic("sue"))
    assert (missing.status, missing.json()["error"]) == (404, "not_found")
    wrong = await call_app(rig.app, "PUT", "/calls", headers=basic("sue"))
    assert (wrong.status, wrong.json()["error"]) == (405, "method_not_allowed")
    assert (await call_app(rig.app, "GET", "/docs")).status == 404


class ExplodingControl(FakeControl):
    async def live_calls(self) -> list[CallInfo]:
        raise RuntimeError("db password=hunter2 at /srv/engine/core.py line 12")

    async def queues(self) -> list[Any]:
        return [{"name": None}]  # breaks the response model


async def test_unexpected_errors_are_a_logged_bare_500(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    config = make_config()
    app = create_api(config, ExplodingControl(config, clock), ListSink(), clock=clock)
    for path in ("/calls", "/queues"):
        caplog.clear()
        reply = await call_app(app, "GET", path, headers=basic("sue"))
        assert reply.status == 500
        answer = reply.json()
        assert answer["error"] == "internal"
        assert answer["detail"].startswith("internal error; incident ")
        incident = answer["detail"].rsplit(" ", 1)[1]
        assert answer == {"error": "internal", "detail": answer["detail"], "fields": []}
        for leak in (b"hunter2", b"/srv", b"Traceback", b"RuntimeError", b"validation"):
            assert leak not in reply.body
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors
        assert incident in errors[0].getMessage()


async def test_admin_config_is_redacted(rig: Rig) -> None:
    reply = await call_app(rig.app, "GET", "/admin/config", headers=basic("adam"))
    assert reply.status == 200
    for secret in (b"ari-secret", b"db-secret", b"pbkdf2", b"adam-pw"):
        assert secret not in reply.body
    config = reply.json()
    assert config["ari"]["password"] == {"value": "***", "env": ""}
    assert config["mqtt"]["password"] == {"value": "", "env": "MQTT_PASSWORD"}
    assert config["database"]["url"] == "postgresql://hotline:***@db/hotline"
    assert {u["password_hash"] for u in config["users"]} == {"***"}
    assert {a["pin_hash"] for a in config["agents"]} == {"***"}
    assert config["agents"][0]["endpoint"] == "PJSIP/1001"  # the rest is intact


async def test_users_list_has_no_hashes(rig: Rig) -> None:
    reply = await call_app(rig.app, "GET", "/admin/users", headers=basic("adam"))
    users = reply.json()
    assert [u["name"] for u in users] == ["ann", "bob", "tina", "tom", "sue", "adam"]
    assert all(set(u) == {"name", "role", "agent_id", "team"} for u in users)


async def test_openapi_documents_security_errors_and_models(rig: Rig) -> None:
    doc = (await call_app(rig.app, "GET", "/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert {"AgentInfo", "CallInfo", "MonitorSession", "ErrorOut", "TokenOut"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # our own 422 shape replaces FastAPI's
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            if path == "/healthz":
                assert "security" not in op
                continue
            assert op["security"], label
            assert "x-roles" in op, label
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorOut"), label
            assert "401" in op["responses"], label
            assert ("403" in op["responses"]) == (len(op["x-roles"]) < 4), label
    ops = doc["paths"]
    monitor = ops["/calls/{call_id}/monitor"]["post"]
    assert monitor["x-audit"] == "always"
    assert monitor["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MonitorSession"
    )
    assert schemas["MonitorIn"]["properties"]["mode"]["enum"] == ["listen", "whisper", "barge"]
    assert ops["/auth/token"]["post"]["security"] == [{"HTTPBasic": []}]
    audio = ops["/recordings/{name}/audio"]["get"]["responses"]["200"]["content"]
    assert "application/octet-stream" in audio
