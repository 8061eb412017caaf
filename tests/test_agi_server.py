"""The FastAGI server over real TCP: a test client plays Asterisk's side of the protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from ari_app.agi.hooks import build_hooks
from ari_app.agi.protocol import Response
from ari_app.agi.server import AgiServer, AgiSession, Handler
from ari_app.config.settings import parse_config

WAIT = 5.0
CFG = parse_config(
    {
        "blocklist": ["13900000000"],
        "queues": [
            {"name": "support", "numbers": ["12345"], "vip_numbers": ["13800138000"]},
            {
                "name": "sales",
                "numbers": ["12346"],
                "hours": {"weekly": {"mon": ["09:00-18:00"]}},
                "greeting": ["sound:sales-welcome", "digits:{agent_id}"],
            },
        ],
    }
)
MONDAY_10_SH = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def env_lines(script: str, **extra: str) -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:4573/{script}",
        "agi_channel": "PJSIP/pstn-00000001",
        "agi_language": "en",
        "agi_type": "PJSIP",
        "agi_uniqueid": "1732316122.1",
        "agi_version": "22.10.1",
        "agi_callerid": "13800138001",
        "agi_calleridname": "unknown",
        "agi_dnid": "12345",
        "agi_context": "hotline-in",
        "agi_extension": "12345",
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000000",
    }
    env.update(extra)
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


class Asterisk:
    """Asterisk's end of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def command(self) -> str:
        line = await asyncio.wait_for(self.reader.readline(), WAIT)
        assert line.endswith(b"\n"), f"connection closed instead of a command: {line!r}"
        return line.decode().rstrip("\n")

    async def reply(self, *lines: str) -> None:
        self.writer.write("".join(f"{x}\n" for x in lines).encode())
        await self.writer.drain()

    async def closed_by_server(self) -> bool:
        rest = await asyncio.wait_for(self.reader.read(), WAIT)
        return rest == b""


@pytest.fixture
async def route_server() -> AsyncIterator[AgiServer]:
    server = AgiServer(build_hooks(CFG, clock=lambda: MONDAY_10_SH))
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def connect(server: AgiServer, script: str | None = None, **env: str) -> Asterisk:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    peer = Asterisk(reader, writer)
    if script is not None:
        writer.write(env_lines(script, **env))
        await writer.drain()
    return peer


async def collect_sets(peer: Asterisk) -> dict[str, str]:
    """Answer SET VARIABLE commands until the server hangs up; return what was set."""
    out: dict[str, str] = {}
    while True:
        line = await asyncio.wait_for(peer.reader.readline(), WAIT)
        if not line:
            return out
        words = line.decode().split()
        assert words[:2] == ["SET", "VARIABLE"], line
        out[words[2]] = words[3].strip('"')
        await peer.reply("200 result=1")


async def test_route_sets_queue_priority_and_route(route_server: AgiServer) -> None:
    peer = await connect(route_server, "route", agi_callerid="13800138000", agi_arg_1="12345")
    sets = await collect_sets(peer)
    assert sets == {"HOTLINE_QUEUE": "support", "HOTLINE_PRIORITY": "1", "HOTLINE_ROUTE": "open"}
    assert route_server.stats.completed == 1


async def test_route_uses_dnid_without_argument(route_server: AgiServer) -> None:
    peer = await connect(route_server, "route?trunk=pstn", agi_dnid="12346")
    sets = await collect_sets(peer)
    assert sets == {"HOTLINE_QUEUE": "sales", "HOTLINE_PRIORITY": "0", "HOTLINE_ROUTE": "open"}


async def test_route_blocked_caller(route_server: AgiServer) -> None:
    peer = await connect(route_server, "route", agi_callerid="13900000000", agi_arg_1="12345")
    sets = await collect_sets(peer)
    assert sets["HOTLINE_ROUTE"] == "blocked"


async def test_route_closed_queue() -> None:
    sunday = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    server = AgiServer(build_hooks(CFG, clock=lambda: sunday))
    await server.start("127.0.0.1", 0)
    try:
        peer = await connect(server, "route", agi_arg_1="12346")
        sets = await collect_sets(peer)
        assert sets["HOTLINE_QUEUE"] == "sales"
        assert sets["HOTLINE_ROUTE"] == "closed"
    finally:
        await server.close()


async def test_greet_agent_plays_greeting_with_member_id(route_server: AgiServer) -> None:
    peer = await connect(route_server, "greet-agent")
    assert await peer.command() == "GET VARIABLE HOTLINE_QUEUE"
    await peer.reply("200 result=1 (support)")
    assert await peer.command() == "GET VARIABLE HOTLINE_AGENT_ID"
    await peer.reply("200 result=0")
    assert await peer.command() == "GET VARIABLE MEMBERINTERFACE"
    await peer.reply("200 result=1 (PJSIP/agent1001)")
    assert await peer.command() == 'STREAM FILE hotline-welcome ""'
    await peer.reply("200 result=0 endpos=20480")
    assert await peer.command() == 'SAY DIGITS 1001 ""'
    await peer.reply("200 result=0")
    assert await peer.command() == 'STREAM FILE at-your-service ""'
    await peer.reply("200 result=0 endpos=16000")
    assert await peer.closed_by_server()
    assert route_server.stats.completed == 1


async def test_greet_agent_with_arguments_asks_nothing(route_server: AgiServer) -> None:
    peer = await connect(route_server, "greet-agent", agi_arg_1="sales", agi_arg_2="1003")
    assert await peer.command() == 'STREAM FILE sales-welcome ""'
    await peer.reply("200 result=-1 endpos=0")  # file missing: logged, greeting goes on
    assert await peer.command() == 'SAY DIGITS 1003 ""'
    await peer.reply("200 result=0")
    assert await peer.closed_by_server()
    assert route_server.stats.completed == 1


async def test_caller_hangs_up_during_greeting(route_server: AgiServer) -> None:
    peer = await connect(route_server, "greet-agent", agi_arg_1="support", agi_arg_2="1001")
    assert await peer.command() == 'STREAM FILE hotline-welcome ""'
    # Asterisk's FastAGI: the HANGUP notice, then the interrupted command's answer;
    # the session sends nothing more to a dead channel
    await peer.reply("HANGUP", "200 result=-1 endpos=4000")
    assert await peer.closed_by_server()
    assert route_server.stats.hangups == 1
    assert route_server.stats.completed == 0


async def test_dead_channel_answer_without_notice(route_server: AgiServer) -> None:
    # with AGISIGHUP=no Asterisk sends no HANGUP line; commands just get 511
    peer = await connect(route_server, "greet-agent", agi_arg_1="support", agi_arg_2="1001")
    assert await peer.command() == 'STREAM FILE hotline-welcome ""'
    await peer.reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert await peer.closed_by_server()
    assert route_server.stats.hangups == 1


async def test_connection_dropped_mid_command(route_server: AgiServer) -> None:
    peer = await connect(route_server, "greet-agent", agi_arg_1="support", agi_arg_2="1001")
    assert await peer.command() == 'STREAM FILE hotline-welcome ""'
    peer.writer.close()
    await asyncio.wait_for(route_server.wait_finished(1), WAIT)
    assert route_server.stats.hangups == 1


async def test_early_hangup_during_environment(route_server: AgiServer) -> None:
    peer = await connect(route_server)
    peer.writer.write(b"agi_network: yes\nagi_network_scr")
    await peer.writer.drain()
    peer.writer.close()
    await asyncio.wait_for(route_server.wait_finished(1), WAIT)
    assert route_server.stats.hangups == 1


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"agi_network: yes\nnot an env line\n\n",
        b"\n",
        b"agi_x: " + b"y" * 20_000 + b"\n\n",
        b"".join(f"agi_arg_{i}: x\n".encode() for i in range(1, 400)) + b"\n",
    ],
    ids=["http", "bad-line", "empty-env", "long-line", "too-many-lines"],
)
async def test_malformed_environment_closes_and_counts(
    route_server: AgiServer, garbage: bytes
) -> None:
    peer = await connect(route_server)
    peer.writer.write(garbage)
    await peer.writer.drain()
    assert await peer.closed_by_server()
    assert route_server.stats.malformed == 1
    # the server is still serving
    peer2 = await connect(route_server, "route", agi_arg_1="12345")
    assert (await collect_sets(peer2))["HOTLINE_QUEUE"] == "support"


async def test_malformed_answer_closes_and_counts(route_server: AgiServer) -> None:
    peer = await connect(route_server, "greet-agent", agi_arg_1="support", agi_arg_2="1001")
    assert await peer.command() == 'STREAM FILE hotline-welcome ""'
    await peer.reply("hello there")
    assert await peer.closed_by_server()
    assert route_server.stats.malformed == 1


async def test_unknown_script(route_server: AgiServer) -> None:
    peer = await connect(route_server, "no-such-hook")
    assert await peer.closed_by_server()
    assert route_server.stats.unknown_scripts == 1


async def serve_one(
    hook: Handler, *, env_timeout: float = 5.0, command_timeout: float = 10.0, limit: int = 500
) -> AgiServer:
    server = AgiServer(
        {"t": hook},
        env_timeout=env_timeout,
        command_timeout=command_timeout,
        max_connections=limit,
    )
    await server.start("127.0.0.1", 0)
    return server


async def test_error_answers_reach_the_hook() -> None:
    answers: list[Response] = []

    async def hook(session: AgiSession) -> None:
        answers.append(await session.command("FOO"))
        answers.append(await session.command("STREAM", "FILE"))
        answers.append(await session.verbose("still here", 3))
        value = await session.get_variable("CALLERID(name)")
        answers.append(Response(code=0, data=value))

    server = await serve_one(hook)
    try:
        peer = await connect(server, "t")
        assert await peer.command() == "FOO"
        await peer.reply("510 Invalid or unknown command")
        assert await peer.command() == "STREAM FILE"
        await peer.reply(
            "520-Invalid command syntax.  Proper usage follows:",
            " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
            "520 End of proper usage.",
        )
        assert await peer.command() == 'VERBOSE "still here" 3'
        await peer.reply("200 result=1")
        assert await peer.command() == "GET VARIABLE CALLERID(name)"
        await peer.reply("200 result=1 (Zhang (VIP))")
        assert await peer.closed_by_server()
    finally:
        await server.close()
    assert [a.code for a in answers] == [510, 520, 200, 0]
    assert answers[1].text == " Usage: STREAM FILE <filename> <escape_digits> [sample offset]"
    assert answers[3].data == "Zhang (VIP)"
    assert server.stats.completed == 1


async def test_hook_exception_is_counted_not_fatal() -> None:
    async def hook(session: AgiSession) -> None:
        raise RuntimeError("bug in a hook")

    server = await serve_one(hook)
    try:
        peer = await connect(server, "t")
        assert await peer.closed_by_server()
        assert server.stats.hook_errors == 1
        peer = await connect(server, "t")
        assert await peer.closed_by_server()
        assert server.stats.hook_errors == 2
    finally:
        await server.close()


@pytest.mark.looptime
async def test_command_timeout_closes_the_session() -> None:
    started: list[float] = []

    async def hook(session: AgiSession) -> None:
        started.append(asyncio.get_running_loop().time())
        await session.command("ANSWER")

    server = await serve_one(hook, command_timeout=10.0)
    try:
        peer = await connect(server, "t")
        assert await peer.command() == "ANSWER"
        # never answer: the server gives up after 10 s of loop time
        rest = await asyncio.wait_for(peer.reader.read(), 30)
        assert rest == b""
        assert server.stats.timeouts == 1
        assert asyncio.get_running_loop().time() - started[0] == pytest.approx(10.0, abs=0.5)
    finally:
        await server.close()


@pytest.mark.looptime
async def test_silent_peer_times_out_in_environment() -> None:
    async def hook(session: AgiSession) -> None:
        raise AssertionError("never reached")

    server = await serve_one(hook, env_timeout=5.0)
    try:
        t0 = asyncio.get_running_loop().time()
        peer = await connect(server)
        rest = await asyncio.wait_for(peer.reader.read(), 30)
        assert rest == b""
        assert server.stats.timeouts == 1
        assert asyncio.get_running_loop().time() - t0 == pytest.approx(5.0, abs=0.5)
    finally:
        await server.close()


async def test_connection_limit() -> None:
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hook(session: AgiSession) -> None:
        entered.set()
        await release.wait()

    server = await serve_one(hook, limit=1)
    try:
        first = await connect(server, "t")
        await asyncio.wait_for(entered.wait(), WAIT)
        second = await connect(server)
        assert await second.closed_by_server()
        assert server.stats.rejected == 1
        release.set()
        assert await first.closed_by_server()
        assert server.stats.completed == 1
    finally:
        await server.close()
