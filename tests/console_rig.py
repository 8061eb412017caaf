"""The engine on the PBX simulator in a thread of its own (real clock), for the console's
browser tests: Selenium is blocking, so the engine's loop cannot be the test's.

`Rig.start()` runs the simulator and `running()` (the API and the console on a free port of
127.0.0.1) on a new event loop in a daemon thread; `rig.run(coro)` / `rig.call(fn)` run
something on that loop and wait for its result. `chrome()` opens Debian's Chromium headless
through Debian's chromedriver (`scripts/services.sh` installs both).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

from ari_app.config.settings import Config, parse_config
from ari_app.domain.passwords import hash_secret
from ari_app.shell.run import Running, running
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from tests.callflow_rig import PIN_HASH

T = TypeVar("T")
PASSWORDS = {"sue": "sue-pw", "tina": "tina-pw", "ann": "ann-pw", "bob": "bob-pw"}
HOTLINE = "12345"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def console_config(tmp: Path) -> Config:
    def h(secret: str) -> str:
        return hash_secret(secret, iterations=1000)

    agents = [("1001", "Li", "red"), ("1002", "Wang", "red"), ("2001", "Zhao", "blue")]
    return parse_config({
        "engine": {"organisation": "Test Hotline", "data_dir": str(tmp / "data")},
        "http": {"host": "127.0.0.1", "port": 0},
        "recordings": {"dir": str(tmp / "rec")},
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
        "queues": [{"name": "support", "numbers": [HOTLINE], "sl_seconds": 20,
                    "wrapup_seconds": 30.0}],
        "agents": [
            {"id": aid, "name": name, "team": team, "endpoint": f"PJSIP/agent{aid}",
             "pin_hash": PIN_HASH}
            for aid, name, team in agents
        ],
        "departments": [{"name": "billing", "target": "PJSIP/billing"}],
        "feature_codes": {"pause_reasons": {"1": "lunch", "2": "training"}},
        "users": [
            {"name": "sue", "password_hash": h("sue-pw"), "role": "supervisor",
             "device": "PJSIP/sup1"},
            {"name": "tina", "password_hash": h("tina-pw"), "role": "team_lead",
             "team": "red", "device": "PJSIP/sup2"},
            {"name": "ann", "password_hash": h("ann-pw"), "role": "agent", "agent_id": "1001",
             "team": "red"},
            {"name": "bob", "password_hash": h("bob-pw"), "role": "agent", "agent_id": "2001",
             "team": "blue"},
        ],
    })


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.config = console_config(tmp)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stack = AsyncExitStack()
        self.sim = Simulator(SimConfig(recordings_dir=self.config.recordings.dir))
        self.r: Running | None = None
        self.base = ""

    # ------------------------------------------------------------------ the loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        done: Future[T] = Future()

        def job() -> None:
            try:
                done.set_result(fn())
            except Exception as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(job)
        return done.result(timeout)

    def start(self) -> Rig:
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        for aid in ("1001", "1002", "2001"):
            self.sim.set_endpoint(f"PJSIP/agent{aid}", EndpointBehaviour(0.5))
        for sup in ("PJSIP/sup1", "PJSIP/sup2"):
            self.sim.set_endpoint(sup, EndpointBehaviour(0.3))
        ari = await self.sim.start()
        self.stack.push_async_callback(self.sim.stop)
        self.r = await self.stack.enter_async_context(
            running(self.config, ari_url=ari, records=False, journal=False,
                    clock=self.sim.pbx.wall)
        )
        port = self.r.api_url.rsplit(":", 1)[1]
        # `localhost`: Chromium sends the Secure cookie over plain HTTP only there
        self.base = f"http://localhost:{port}"

    def stop(self) -> None:
        try:
            self.run(self.stack.aclose(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    # ------------------------------------------------------------------ the engine

    @property
    def running(self) -> Running:
        assert self.r is not None
        return self.r

    def place_call(self, number: str, *, talk: float = 600.0, patience: float = 600.0) -> str:
        return self.call(lambda: self.sim.place_call(number, HOTLINE, patience=patience,
                                                     talk=talk))

    def login(self, agent_id: str) -> None:
        from tests.callflow_rig import PIN

        self.run(self.running.engine.login_checked(agent_id, PIN, f"PJSIP/agent{agent_id}"))

    def logout(self, *agent_ids: str) -> None:
        def out() -> None:
            for agent_id in agent_ids:
                if str(self.running.engine.core.agents.get(agent_id).state) != "logged-out":
                    self.running.engine.logout(agent_id)

        self.call(out)

    def agent_state(self, agent_id: str) -> str:
        return self.call(lambda: str(self.running.engine.core.agents.get(agent_id).state))

    def monitors(self) -> list[tuple[str, str, str]]:
        return self.call(lambda: [
            (m.call_id, m.started_by, m.mode)
            for m in self.running.engine.core.monitors.values()
        ])

    def call_state(self, call_id: str) -> str:
        return self.call(lambda: str(self.running.engine.core.calls[call_id].state)
                         if call_id in self.running.engine.core.calls else "gone")


def chrome(width: int = 1400, height: int = 1000) -> Any:
    """Headless Chromium through chromedriver, both Debian's (no download of any kind)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=en-GB",
                "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "SE_OFFLINE": "true"})
    return webdriver.Chrome(service=service, options=options)
