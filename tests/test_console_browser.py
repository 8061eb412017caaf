"""The web console in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver, against the engine on the PBX simulator (real clock, its own thread).

- a call arrives and is on the wallboard within 1 s;
- the supervisor clicks Listen: a monitoring session exists (audited), Stop ends it;
- an agent logs in with ID + PIN, pauses with a reason and unpauses from the panel;
- a team lead sees only the team's agents; an agent gets 403 for the wallboard;
- a dropped event stream resumes (Last-Event-ID) without losing or doubling a change.

Screenshots go to var/screenshots/ (not committed; docs/ has one of each).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_rig import CHROMEDRIVER, CHROMIUM, PASSWORDS, Rig, chrome

SHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    for binary in (CHROMIUM, CHROMEDRIVER):  # scripts/services.sh installs both
        assert Path(binary).exists(), f"needs Debian's chromium and chromium-driver: {binary}"
    rig = Rig(tmp_path_factory.mktemp("console")).start()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture
def browser() -> Iterator[Callable[[], Any]]:
    opened: list[Any] = []

    def open_one() -> Any:
        driver = chrome()
        opened.append(driver)
        return driver

    try:
        yield open_one
    finally:
        for driver in opened:
            driver.quit()


def wait(predicate: Callable[[], Any], within: float = 10.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + within
    while True:
        try:
            value = predicate()
        except Exception:  # stale or not yet there
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {predicate}")
        time.sleep(step)


def find(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def click(driver: Any, css: str, within: float = 10.0) -> None:
    """Click what `css` finds, again if the page re-rendered it meanwhile."""
    def attempt() -> bool:
        element = find(driver, css)
        if element is None:
            return False
        element.click()
        return True

    wait(attempt, within)


def log_in(driver: Any, rig: Rig, user: str, landing: str) -> None:
    driver.get(f"{rig.base}/console/login")
    wait(lambda: find(driver, "#user"))
    find(driver, "#user").send_keys(user)
    find(driver, "#password").send_keys(PASSWORDS[user])
    find(driver, "#login").click()
    wait(lambda: driver.current_url.endswith(landing))
    wait(lambda: driver.execute_script(
        "return window.hotlineLive && window.hotlineLive.stats.snapshots"))


def shot(driver: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / name))


def stats(driver: Any) -> dict[str, int]:
    result: dict[str, int] = driver.execute_script("return window.hotlineLive.stats")
    return result


def hang_up(rig: Rig, call_id: str) -> None:
    rig.call(lambda: rig.sim.phone_hangup(call_id))
    wait(lambda: rig.call_state(call_id) == "gone")


def test_a_call_is_on_the_wallboard_within_a_second(rig: Rig, browser: Any) -> None:
    from pbxsim.config import EndpointBehaviour

    # 1002's phone rings on and on: the caller waits
    rig.call(lambda: rig.sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(None)))
    rig.login("1002")
    driver = browser()
    log_in(driver, rig, "sue", "/console/wallboard")
    wait(lambda: find(driver, "#queue-support"))
    started = time.monotonic()
    call_id = rig.place_call("13900000001")
    wait(lambda: find(driver, f'[id="call-{call_id}"]'), within=5.0, step=0.01)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the call reached the wallboard after {elapsed:.2f} s"
    row = find(driver, f'[id="call-{call_id}"]')
    assert "****0001" in row.text
    assert row.get_attribute("data-state") in ("queued", "offering")
    wait(lambda: find(driver, "#queue-support [data-figure=waiting] .value").text == "1")
    assert stats(driver)["gaps"] == 0
    hang_up(rig, call_id)
    wait(lambda: find(driver, f'[id="call-{call_id}"]') is None)
    rig.call(lambda: rig.sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(0.5)))


def test_supervisor_listens_and_stops(
    rig: Rig, browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ari_app.shell.run")
    rig.login("1001")
    call_id = rig.place_call("13900000002")
    wait(lambda: rig.call_state(call_id) == "bridged")
    driver = browser()
    log_in(driver, rig, "sue", "/console/wallboard")
    wait(lambda: find(driver, f'[id="call-{call_id}"][data-state=talking]'))
    wait(lambda: find(driver, "#agents tbody tr[data-state=on_call]"))
    shot(driver, "wallboard.png")
    click(driver, f'[id="call-{call_id}"] button[data-action=listen]')
    wait(lambda: rig.monitors() == [(call_id, "sue", "listen")])
    wait(lambda: find(driver, "#monitors tbody tr[data-mode=listen]"))
    assert any("monitor.start" in m and "outcome=ok" in m and "via=console" in m
               for m in caplog.messages), caplog.messages
    click(driver, "#monitors button[data-action=stop]")
    wait(lambda: rig.monitors() == [])
    wait(lambda: find(driver, "#monitors tbody tr") is None)
    assert any("monitor.stop" in m and "outcome=ok" in m for m in caplog.messages)
    hang_up(rig, call_id)


def test_whisper_asks_for_confirmation(rig: Rig, browser: Any) -> None:
    if rig.agent_state("1002") == "logged-out":
        rig.login("1002")
    call_id = rig.place_call("13900000003")
    wait(lambda: rig.call_state(call_id) == "bridged")
    driver = browser()
    log_in(driver, rig, "sue", "/console/wallboard")
    click(driver, f'[id="call-{call_id}"] button[data-action=whisper]')
    wait(lambda: find(driver, "#confirm[open]"))
    click(driver, "#confirm-cancel")
    time.sleep(0.3)
    assert rig.monitors() == []
    click(driver, f'[id="call-{call_id}"] button[data-action=whisper]')
    click(driver, "#confirm-ok")
    wait(lambda: [m[2] for m in rig.monitors()] == ["whisper"])
    hang_up(rig, call_id)
    wait(lambda: rig.monitors() == [])


def test_agent_logs_in_pauses_and_unpauses_from_the_panel(rig: Rig, browser: Any) -> None:
    rig.logout("1001", "1002")  # the next caller is 2001's
    driver = browser()
    log_in(driver, rig, "bob", "/console/agent")
    wait(lambda: find(driver, "#state[data-state=logged_out]"))
    find(driver, "#pin").send_keys("0000")
    click(driver, "#agent-login-button")
    wait(lambda: "403" in find(driver, "#message").text or "PIN" in find(driver, "#message").text
         or find(driver, "#message.error"))
    assert rig.agent_state("2001") == "logged-out"
    from tests.callflow_rig import PIN

    find(driver, "#pin").send_keys(PIN)
    click(driver, "#agent-login-button")
    wait(lambda: rig.agent_state("2001") == "available")
    wait(lambda: find(driver, "#state[data-state=available]"))
    from selenium.webdriver.support.ui import Select

    Select(find(driver, "#pause-reason")).select_by_value("training")
    click(driver, "#pause")
    wait(lambda: rig.agent_state("2001") == "paused")
    wait(lambda: find(driver, "#state[data-state=paused]"))
    assert "training" in find(driver, "#reason").text
    click(driver, "#unpause")
    wait(lambda: rig.agent_state("2001") == "available")
    wait(lambda: find(driver, "#state[data-state=available]"))
    call_id = rig.place_call("13900000004")
    wait(lambda: find(driver, "#call:not([hidden])"))
    wait(lambda: find(driver, "#call-greeting").text.startswith("[hotline-welcome] 2-0-0-1"))
    shown = find(driver, "#call-caller").text
    assert shown.endswith("0004"), shown
    assert "1390000" not in shown, shown
    shot(driver, "agent-panel.png")
    hang_up(rig, call_id)
    wait(lambda: find(driver, "#state[data-state=wrapup]"))
    click(driver, "#end-wrapup")
    wait(lambda: rig.agent_state("2001") == "available")
    wait(lambda: find(driver, "#fig-answered").text == "1")
    click(driver, "#agent-logout")
    wait(lambda: rig.agent_state("2001") == "logged-out")


def test_a_team_lead_sees_only_the_team(rig: Rig, browser: Any) -> None:
    if rig.agent_state("2001") == "logged-out":
        rig.login("2001")
    driver = browser()
    log_in(driver, rig, "tina", "/console/wallboard")
    wait(lambda: find(driver, "#agent-1001"))
    rows = {r.get_attribute("id") for r in driver.find_elements("css selector", "#agents tbody tr")}
    assert rows == {"agent-1001", "agent-1002"}
    assert find(driver, "#queue-support") is not None  # queues are the team lead's too


def test_an_agent_gets_403_for_the_wallboard(rig: Rig, browser: Any) -> None:
    driver = browser()
    log_in(driver, rig, "ann", "/console/agent")
    driver.get(f"{rig.base}/console/wallboard")
    wait(lambda: find(driver, "#forbidden"))
    assert driver.title == "403"
    status = driver.execute_script(
        "return fetch('/console/wallboard').then(r => r.status)")
    assert status == 403


def test_a_dropped_stream_resumes_without_losing_a_change(rig: Rig, browser: Any) -> None:
    if rig.agent_state("1002") == "logged-out":
        rig.login("1002")
    if rig.agent_state("1002") == "paused":
        rig.call(lambda: rig.running.engine.unpause("1002"))
    driver = browser()
    log_in(driver, rig, "sue", "/console/wallboard")
    wait(lambda: find(driver, "#agent-1002[data-state=available]"))
    before = stats(driver)
    board = rig.running.console
    assert board is not None

    def cut_then_change() -> None:  # in one go on the engine's loop: the change is made
        board.drop_streams()  # while no stream is open
        rig.running.engine.pause("1002", "training")

    rig.call(cut_then_change)
    wait(lambda: find(driver, "#agent-1002[data-state=paused]"))
    after = stats(driver)
    assert after["snapshots"] == before["snapshots"] == 1, after
    assert after["resumes"] == before["resumes"] + 1, after
    assert after["gaps"] == 0, after
    assert after["duplicates"] == 0, after
    rig.call(lambda: rig.running.engine.unpause("1002"))
    wait(lambda: find(driver, "#agent-1002[data-state=available]"))
    assert stats(driver)["gaps"] == 0
