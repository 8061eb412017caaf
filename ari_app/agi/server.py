"""The FastAGI server shell: asyncio TCP, one session per call, a hook per script path.

Asterisk connects for `AGI(agi://host:4573/<script>)`, sends its environment, then waits
for commands. Everything that can go wrong on the wire (over-long or malformed lines, a
silent peer, the caller hanging up) ends that one connection with a log line and a count;
the server itself keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ari_app.agi.protocol import (
    MAX_ENV_LINES,
    MAX_LINE_BYTES,
    AgiProtocolError,
    Hangup,
    Response,
    ResponseParser,
    format_command,
    parse_env_line,
)

log = logging.getLogger(__name__)

Handler = Callable[["AgiSession"], Awaitable[None]]


class AgiHangup(Exception):
    """The channel hung up (HANGUP notice, 511 answer or the connection closed)."""


class AgiTimeout(Exception):
    """Asterisk did not answer in time; the session is out of step and must close."""


@dataclass
class AgiStats:
    """Counters the operator can read (and the metrics module can export)."""

    connections: int = 0
    completed: int = 0
    hangups: int = 0
    malformed: int = 0
    timeouts: int = 0
    unknown_scripts: int = 0
    hook_errors: int = 0
    rejected: int = 0
    finished: int = 0


async def _read_line(reader: asyncio.StreamReader) -> str | None:
    """One line without its newline; None at EOF (a partial last line counts as EOF)."""
    try:
        raw = await reader.readline()
    except ValueError as exc:  # the StreamReader's limit: longer than MAX_LINE_BYTES
        raise AgiProtocolError(f"line longer than {MAX_LINE_BYTES} bytes") from exc
    if not raw.endswith(b"\n"):
        return None
    return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


async def read_environment(reader: asyncio.StreamReader) -> dict[str, str]:
    """The agi_* variables up to the blank line that ends them."""
    env: dict[str, str] = {}
    while True:
        line = await _read_line(reader)
        if line is None:
            raise AgiHangup("connection closed during the AGI environment")
        if line == "":
            if not env:
                raise AgiProtocolError("empty AGI environment")
            return env
        if len(env) >= MAX_ENV_LINES:
            raise AgiProtocolError(f"more than {MAX_ENV_LINES} environment lines")
        key, value = parse_env_line(line)
        env[key] = value


def script_name(env: Mapping[str, str]) -> str:
    """The hook name: `route` for agi://host:4573/route?x=y (query and slashes dropped)."""
    script = env.get("agi_network_script")
    if script is None:
        script = urlsplit(env.get("agi_request", "")).path
    return script.partition("?")[0].strip("/")


class AgiSession:
    """One call's FastAGI conversation: send a command, wait for its answer."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: Mapping[str, str],
        command_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = ResponseParser()
        self.env = dict(env)
        self.command_timeout = command_timeout
        self.hungup = False

    @property
    def script(self) -> str:
        return script_name(self.env)

    @property
    def args(self) -> list[str]:
        """agi_arg_1, agi_arg_2, ... in order (Asterisk numbers them from 1)."""
        out: list[str] = []
        while f"agi_arg_{len(out) + 1}" in self.env:
            out.append(self.env[f"agi_arg_{len(out) + 1}"])
        return out

    async def command(self, *words: str, wait_seconds: float | None = None) -> Response:
        """Send one command; raises AgiHangup once the channel is gone."""
        if self.hungup:
            raise AgiHangup("channel already hung up")
        self._writer.write(format_command(*words))
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            self.hungup = True
            raise AgiHangup("connection lost") from exc
        try:
            limit = wait_seconds if wait_seconds is not None else self.command_timeout
            async with asyncio.timeout(limit):
                return await self._await_response()
        except TimeoutError:
            raise AgiTimeout(f"no answer to {words[0]}") from None

    async def _await_response(self) -> Response:
        while True:
            line = await _read_line(self._reader)
            if line is None:
                self.hungup = True
                raise AgiHangup("connection closed")
            answer = self._parser.feed(line)
            if isinstance(answer, Hangup):
                self.hungup = True
                continue
            if answer is None:
                continue
            if answer.code == 511:
                self.hungup = True
                raise AgiHangup(answer.text)
            return answer

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None if it is not set."""
        r = await self.command("GET", "VARIABLE", name)
        return r.data if r.ok and r.result == "1" else None

    async def set_variable(self, name: str, value: str) -> Response:
        return await self.command("SET", "VARIABLE", name, value)

    async def stream_file(
        self, name: str, escape_digits: str = "", wait_seconds: float = 120.0
    ) -> Response:
        return await self.command("STREAM", "FILE", name, escape_digits, wait_seconds=wait_seconds)

    async def say_digits(self, digits: str, escape_digits: str = "") -> Response:
        return await self.command("SAY", "DIGITS", digits, escape_digits, wait_seconds=60.0)

    async def say_number(self, number: str, escape_digits: str = "") -> Response:
        return await self.command("SAY", "NUMBER", number, escape_digits, wait_seconds=60.0)

    async def say_alpha(self, text: str, escape_digits: str = "") -> Response:
        return await self.command("SAY", "ALPHA", text, escape_digits, wait_seconds=60.0)

    async def exec(
        self, application: str, options: str = "", wait_seconds: float = 120.0
    ) -> Response:
        return await self.command("EXEC", application, options, wait_seconds=wait_seconds)

    async def verbose(self, message: str, level: int = 1) -> Response:
        return await self.command("VERBOSE", message, str(level))

    async def hangup(self) -> Response:
        return await self.command("HANGUP")


class AgiServer:
    """Serves FastAGI; `hooks` maps a script path (`route`) to its handler."""

    def __init__(
        self,
        hooks: Mapping[str, Handler],
        *,
        env_timeout: float = 5.0,
        command_timeout: float = 10.0,
        max_connections: int = 500,
    ) -> None:
        self.hooks = dict(hooks)
        self.env_timeout = env_timeout
        self.command_timeout = command_timeout
        self.max_connections = max_connections
        self.stats = AgiStats()
        self._active = 0
        self._server: asyncio.Server | None = None
        self._finished = asyncio.Condition()

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> asyncio.Server:
        self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_LINE_BYTES)
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def wait_finished(self, count: int) -> None:
        """Until `count` connections have ended (for shutdown and for tests)."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.stats.finished >= count)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self._active >= self.max_connections:
            self.stats.rejected += 1
            log.warning("agi: %d connections already open; refusing one", self._active)
            await _close(writer)
            await self._finish()
            return
        self._active += 1
        script = "?"
        try:
            async with asyncio.timeout(self.env_timeout):
                env = await read_environment(reader)
            session = AgiSession(reader, writer, env, self.command_timeout)
            script = session.script
            hook = self.hooks.get(script)
            if hook is None:
                self.stats.unknown_scripts += 1
                log.warning("agi: no hook %r (have %s)", script, ", ".join(sorted(self.hooks)))
                return
            await hook(session)
            self.stats.completed += 1
        except AgiHangup as exc:
            self.stats.hangups += 1
            log.info("agi %s: caller hung up (%s)", script, exc)
        except (AgiTimeout, TimeoutError) as exc:
            self.stats.timeouts += 1
            log.warning("agi %s: timed out: %s", script, exc or "no AGI environment")
        except AgiProtocolError as exc:
            self.stats.malformed += 1
            log.warning("agi %s: malformed input, closing: %s", script, exc)
        except Exception:
            self.stats.hook_errors += 1
            log.exception("agi %s: hook failed", script)
        finally:
            self._active -= 1
            await _close(writer)
            await self._finish()

    async def _finish(self) -> None:
        self.stats.finished += 1
        async with self._finished:
            self._finished.notify_all()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
