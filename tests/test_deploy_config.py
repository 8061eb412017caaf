"""The deployment files agree with each other and with the engine.

Asterisk's configs (config/*.conf), the dialplan, the engine's example config and defaults,
and the docker stack are written by hand in different syntaxes; these tests catch the
mismatches that would only show up on the first real call (wrong app name, missing
channel variable, a Goto into nowhere, a port that differs between two files).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args, get_origin
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel

from ari_app.config.settings import Config, Secret, load_config
from ari_app.domain.variables import CHANNEL_VARS
from tests.conftest import INDICATIONS, ROOT

CONFIG_DIR = ROOT / "config"
DIALPLAN = ROOT / "dialplan" / "extensions.conf"
EXAMPLE = CONFIG_DIR / "hotline.example.toml"
CHANNELVARS = ",".join(CHANNEL_VARS)  # the engine's own list (ari_app.domain.variables)

# ---------------------------------------------------------------- a small .conf reader


@dataclass
class Section:
    name: str
    options: list[str]  # what is inside (...) after the name: "!", template names
    lines: list[tuple[int, str, str]] = field(default_factory=list)  # (line no, key, value)

    def get(self, key: str) -> list[str]:
        return [v for _, k, v in self.lines if k == key]

    def one(self, key: str) -> str:
        values = self.get(key)
        assert len(values) == 1, f"[{self.name}] needs exactly one {key}, has {values}"
        return values[0]


_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_.@+-]+)\](?:\(([^()]*)\))?$")
_OPTION_RE = re.compile(r"^([A-Za-z0-9_./-]+)\s*(=>|=)\s*(.*)$")


def strip_comment(line: str) -> str:
    """Asterisk comments start at an unescaped `;`."""
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if line[i] == ";":
            break
        out.append(line[i])
        i += 1
    return "".join(out).strip()


def parse_conf(path: Path) -> tuple[list[Section], list[str]]:
    """Sections and options of an Asterisk config file, and every syntax error found."""
    sections: list[Section] = []
    errors: list[str] = []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = strip_comment(raw)
        if not line:
            continue
        where = f"{path.name}:{no}"
        if line.startswith("["):
            m = _SECTION_RE.match(line)
            if not m:
                errors.append(f"{where}: bad section header {line!r}")
                continue
            opts = [o.strip() for o in (m[2] or "").split(",") if o.strip()]
            sections.append(Section(m[1], opts))
            continue
        if line.startswith("#"):
            if not re.match(r'^#(include|tryinclude)\s+"?[^"\s]+"?$', line):
                errors.append(f"{where}: bad directive {line!r}")
            continue
        m = _OPTION_RE.match(line)
        if not m:
            errors.append(f"{where}: not `key = value` {line!r}")
            continue
        if not sections:
            errors.append(f"{where}: option outside any section")
            continue
        sections[-1].lines.append((no, m[1], m[3].strip()))
    names = [s.name for s in sections]
    for s in sections:
        for opt in s.options:
            if opt != "!" and opt not in names:
                errors.append(f"{path.name}: [{s.name}] uses unknown template {opt!r}")
        if names.count(s.name) > 1 and path.name not in ("extensions.conf",):
            errors.append(f"{path.name}: duplicate section [{s.name}]")
    return sections, errors


def sections_of(path: Path) -> dict[str, Section]:
    sections, errors = parse_conf(path)
    assert errors == []
    return {s.name: s for s in sections}


def resolved(sections: dict[str, Section], name: str, key: str) -> list[str]:
    """An option's values, following template inheritance (pjsip_wizard.conf, queues.conf)."""
    s = sections[name]
    own = s.get(key)
    if own:
        return own
    for parent in reversed([o for o in s.options if o != "!"]):
        found = resolved(sections, parent, key)
        if found:
            return found
    return []


# ---------------------------------------------------------------- a small dialplan reader


@dataclass(frozen=True)
class Step:
    line: int
    context: str
    exten: str
    label: str
    app: str
    data: str


_EXTEN_RE = re.compile(r"^(exten|same)\s*=>\s*(.*)$")
_APP_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\((.*)\)$|^([A-Za-z][A-Za-z0-9_]*)$")
KNOWN_APPS = {
    "AGI", "Answer", "Dial", "ExecIf", "Gosub", "GotoIf", "Goto", "Hangup", "Log", "NoOp",
    "Playback", "Progress", "Queue", "Return", "Ringing", "Set", "StackPop", "Stasis",
    "VoiceMail", "Wait",
}  # fmt: skip


def balanced(text: str) -> bool:
    depth = {"(": 0, "[": 0, "{": 0}
    closing = {")": "(", "]": "[", "}": "{"}
    for ch in text:
        if ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return all(v == 0 for v in depth.values())


def dialplan_steps(path: Path) -> tuple[list[Step], dict[str, list[str]], list[str]]:
    """Every priority of every context, the includes, and syntax errors."""
    sections, errors = parse_conf(path)
    steps: list[Step] = []
    includes: dict[str, list[str]] = {}
    for s in sections:
        if s.name in ("general", "globals"):
            continue
        includes[s.name] = s.get("include")
        exten = ""
        for no, key, value in s.lines:
            if key == "include":
                continue
            if key not in ("exten", "same"):
                errors.append(f"{path.name}:{no}: unexpected {key!r} in [{s.name}]")
                continue
            parts = value.split(",", 2) if key == "exten" else ["", *value.split(",", 1)]
            if len(parts) != 3:
                errors.append(f"{path.name}:{no}: expected exten,priority,app")
                continue
            if key == "exten":
                exten = parts[0].strip()
            elif not exten:
                errors.append(f"{path.name}:{no}: `same` before any `exten`")
            prio, app_text = parts[1].strip(), parts[2].strip()
            m_prio = re.match(r"^(\d+|n)(?:\(([A-Za-z0-9_-]+)\))?$", prio)
            if not m_prio:
                errors.append(f"{path.name}:{no}: bad priority {prio!r}")
                continue
            m = _APP_RE.match(app_text)
            if not m:
                errors.append(f"{path.name}:{no}: not App(args): {app_text!r}")
                continue
            app, data = (m[1], m[2]) if m[1] else (m[3], "")
            if app not in KNOWN_APPS:
                errors.append(f"{path.name}:{no}: unknown application {app}")
            if not balanced(data):
                errors.append(f"{path.name}:{no}: unbalanced brackets in {app}({data})")
            steps.append(Step(no, s.name, exten, m_prio[2] or "", app, data))
    return steps, includes, errors


def jump_targets(step: Step) -> Iterator[tuple[str, str]]:
    """(context, exten-or-label) pairs a Goto/Gosub/GotoIf/Queue step can jump to."""
    data = step.data
    if step.app == "GotoIf":
        data = data.partition("?")[2]
        for branch in data.split(":"):
            if branch:
                yield from _target(step, branch)
    elif step.app in ("Goto", "Gosub"):
        yield from _target(step, data)


def _target(step: Step, text: str) -> Iterator[tuple[str, str]]:
    text = re.sub(r"\(.*\)$", "", text.strip())  # Gosub arguments
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        yield (step.context, parts[0])  # label in the same extension
    elif len(parts) == 3:
        yield (parts[0], parts[1])
    elif len(parts) == 2:
        yield (step.context, parts[0])


@pytest.fixture(scope="module")
def dialplan() -> tuple[list[Step], dict[str, list[str]]]:
    steps, includes, errors = dialplan_steps(DIALPLAN)
    assert errors == []
    return steps, includes


def test_dialplan_structure(dialplan: tuple[list[Step], dict[str, list[str]]]) -> None:
    steps, includes = dialplan
    contexts = set(includes)
    labels = {(s.context, s.label) for s in steps if s.label}
    extens = {(s.context, s.exten) for s in steps}
    problems = []
    for step in steps:
        for ctx, where in jump_targets(step):
            if ctx not in contexts:
                problems.append(f"line {step.line}: {step.app} to unknown context {ctx}")
            elif (ctx, where) not in extens and (ctx, where) not in labels:
                problems.append(f"line {step.line}: {step.app} to unknown {where} in {ctx}")
    for ctx, inc in includes.items():
        problems += [f"[{ctx}] includes unknown [{i}]" for i in inc if i not in contexts]
    assert problems == []


def test_the_structural_linter_finds_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "extensions.conf"
    bad.write_text(
        "[general]\nstatic=yes\n[a]\n"
        "exten => s,1,Goto(nowhere,s,1)\n"
        " same => n,Foobar(1)\n"
        " same => n,Set(X=$[1+(2)\n"
        " same => n,GotoIf($[1]?missing)\n"
        "this is not a line\n"
        "[b](nosuchtemplate)\n"
    )
    steps, _, errors = dialplan_steps(bad)
    assert any("unknown application Foobar" in e for e in errors)
    assert any("unbalanced" in e for e in errors)
    assert any("not `key = value`" in e for e in errors)
    assert any("unknown template" in e for e in errors)
    targets = [t for s in steps for t in jump_targets(s)]
    assert ("nowhere", "s") in targets
    assert ("a", "missing") in targets


@pytest.mark.skipif(
    shutil.which("asterisklint") is None
    and not (Path(sys.executable).parent / "asterisklint").exists(),
    reason="asterisklint not installed",
)
def test_asterisklint_dialplan_check() -> None:
    exe = shutil.which("asterisklint") or str(Path(sys.executable).parent / "asterisklint")
    done = subprocess.run(
        [exe, "dialplan-check", str(DIALPLAN)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() + done.stderr.strip() == ""


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.conf")), ids=lambda p: p.name)
def test_config_file_syntax(path: Path) -> None:
    sections, errors = parse_conf(path)
    assert errors == []
    assert sections, f"{path.name} has no sections"


# ---------------------------------------------------------------- agreement


def stasis_calls(steps: list[Step]) -> list[list[str]]:
    return [s.data.split(",") for s in steps if s.app == "Stasis"]


def test_stasis_app_name_agrees(dialplan: tuple[list[Step], dict[str, list[str]]]) -> None:
    calls = stasis_calls(dialplan[0])
    assert calls
    apps = {c[0] for c in calls}
    assert apps == {Config().engine.app} == {load_config(EXAMPLE).engine.app}


def test_ari_user_and_channelvars_agree() -> None:
    ari = sections_of(CONFIG_DIR / "ari.conf")
    assert ari["general"].one("enabled") == "yes"
    assert ari["general"].one("channelvars") == CHANNELVARS
    from kpi.fold import HOTLINE_VARS

    assert set(CHANNELVARS.split(",")) == set(HOTLINE_VARS)
    for cfg in (Config(), load_config(EXAMPLE)):
        user = ari[cfg.ari.username]
        assert user.one("type") == "user"
        assert user.one("read_only") == "no"
    assert ari["hotline"].one("password").startswith("CHANGE_ME_")


def test_http_port_agrees_with_ari_url() -> None:
    http = sections_of(CONFIG_DIR / "http.conf")["general"]
    assert http.one("enabled") == "yes"
    port = int(http.one("bindport"))
    for cfg in (Config(), load_config(EXAMPLE)):
        assert urlsplit(cfg.ari.url).port == port


def test_indications_country_agrees_with_sample_and_engine() -> None:
    mine = sections_of(CONFIG_DIR / "indications.conf")
    country = mine["general"].one("country")
    assert country == Config().ringing.country == load_config(EXAMPLE).ringing.country
    sample = {s.name: s for s in parse_conf(INDICATIONS)[0]}
    assert dict((k, v) for _, k, v in mine[country].lines) == dict(
        (k, v) for _, k, v in sample[country].lines
    )
    wizard = sections_of(CONFIG_DIR / "pjsip_wizard.conf")
    zones = {resolved(wizard, n, "endpoint/tone_zone")[0] for n, s in wizard.items()
             if "!" not in s.options}  # fmt: skip
    assert zones == {country}


def test_endpoints_agents_and_contexts_agree(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    wizard = sections_of(CONFIG_DIR / "pjsip_wizard.conf")
    transports = sections_of(CONFIG_DIR / "pjsip.conf")
    contexts = set(dialplan[1])
    endpoints = {n for n, s in wizard.items() if "!" not in s.options}
    for name in endpoints:
        assert resolved(wizard, name, "type") == ["wizard"], name
        assert resolved(wizard, name, "endpoint/context")[0] in contexts, name
        transport = resolved(wizard, name, "transport")[0]
        assert transports[transport].one("type") == "transport"
    # the traces' names: agents' phones PJSIP/agent1001..1004, caller trunk pstn
    assert {f"agent{n}" for n in range(1001, 1005)} | {"pstn"} <= endpoints
    assert resolved(wizard, "pstn", "endpoint/context") == ["hotline-in"]
    for agent in load_config(EXAMPLE).agents:
        tech, _, resource = agent.endpoint.partition("/")
        assert tech == "PJSIP"
        assert resource in endpoints, agent.endpoint


def test_hotline_numbers_reach_their_queues(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    steps = dialplan[0]
    cfg = load_config(EXAMPLE)
    incoming = [s for s in steps if s.context == "hotline-in"]
    routed = {}
    for s in incoming:
        if s.app == "Gosub" and s.data.startswith("hotline-route,"):
            args = re.search(r"\((.*)\)$", s.data)
            assert args, s
            routed[s.exten] = args[1].split(",")[1]
    assert routed, "no hotline number in [hotline-in]"
    for number, queue in routed.items():
        q = cfg.queue_for_number(number)
        assert q is not None, f"{number} is not in any queue's numbers"
        assert q.name == queue
    # Stasis right after the routing, at priority 2 as in the traces
    for number in routed:
        ext = [s for s in incoming if s.exten == number]
        assert (ext[1].app, ext[1].data) == ("Stasis", "hotline,${HOTLINE_QUEUE}")


def test_agents_context_transfers_like_the_traces(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    steps = dialplan[0]
    first = next(s for s in steps if s.context == "agents" and s.exten == "_1XXX")
    assert (first.app, first.data) == ("Stasis", "hotline,transfer,${EXTEN}")


def test_feature_codes_reach_the_engine(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    calls = {tuple(c[1:3]) for c in stasis_calls(dialplan[0])}
    for action in ("login", "logout", "pause", "unpause"):
        assert ("agent", action) in calls
    for mode in ("listen", "whisper", "barge"):
        assert ("supervise", mode) in calls
    steps = dialplan[0]
    # supervisors' phones may use every agent code too
    assert "agents" in dialplan[1]["supervisors"]
    assert "agent-features" in dialplan[1]["agents"]
    assert any(s.context == "supervisors" for s in steps)


def test_engine_down_is_never_silence(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    steps, _ = dialplan
    ended = [s for s in steps if s.context == "hotline-stasis-ended"]
    assert 'GotoIf($["${STASISSTATUS}" = "FAILED"]?fallback)' in [
        f"{s.app}({s.data})" for s in ended
    ]
    after = [s.app for s in ended[ended.index(next(s for s in ended if s.label == "fallback")) :]]
    assert after.index("Playback") < after.index("Queue") < after.index("VoiceMail")
    # every Stasis() of a caller is followed by a step that handles the failure
    for i, s in enumerate(steps):
        if s.app == "Stasis":
            nxt = steps[i + 1]
            assert (nxt.context, nxt.exten) == (s.context, s.exten), f"line {s.line}"
            assert nxt.app in ("Goto", "GotoIf"), f"line {s.line}: nothing after Stasis"


def test_fallback_queue_voicemail_and_agi_exist(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    globals_ = sections_of(DIALPLAN)["globals"]
    queues = sections_of(CONFIG_DIR / "queues.conf")
    wizard = sections_of(CONFIG_DIR / "pjsip_wizard.conf")
    assert globals_.one("HOTLINE_FALLBACK_QUEUE") in queues
    for name in queues:
        if name == "general":
            continue
        for member in resolved(queues, name, "member"):
            iface = member.split(",")[0]
            assert iface.startswith("PJSIP/"), member
            assert iface.removeprefix("PJSIP/") in wizard, member
        assert resolved(queues, name, "setinterfacevar") == ["yes"]
    mailbox, _, vm_context = globals_.one("HOTLINE_VOICEMAIL").partition("@")
    assert sections_of(CONFIG_DIR / "voicemail.conf")[vm_context].get(mailbox)
    agi = urlsplit(globals_.one("HOTLINE_AGI"))
    assert agi.scheme == "agi"
    assert agi.port == _agi_default_port()
    hooks = {s.data.split(",")[0].rsplit("/", 1)[1] for s in dialplan[0] if s.app == "AGI"}
    queue_agi = [s.data.split(",")[5] for s in dialplan[0] if s.app == "Queue" and
                 len(s.data.split(",")) > 5 and s.data.split(",")[5]]  # fmt: skip
    hooks |= {q.rsplit("/", 1)[1] for q in queue_agi}
    from ari_app.agi.hooks import build_hooks

    assert hooks == set(build_hooks(Config())) == {"route", "greet-agent"}


def _agi_default_port() -> int:
    from ari_app.cli import build_parser

    args = build_parser().parse_args(["agi", "--config", "x"])
    return int(args.port)


def test_modules_needed_are_loaded(
    dialplan: tuple[list[Step], dict[str, list[str]]],
) -> None:
    mods = sections_of(CONFIG_DIR / "modules.conf")["modules"]
    assert mods.one("autoload") == "yes"
    loaded = set(mods.get("require")) | set(mods.get("load"))
    noload = set(mods.get("noload"))
    providers = {
        "Stasis": "app_stasis.so", "AGI": "res_agi.so", "Queue": "app_queue.so",
        "VoiceMail": "app_voicemail.so", "Gosub": "app_stack.so", "Dial": "app_dial.so",
        "Playback": "app_playback.so", "ExecIf": "app_exec.so",
    }  # fmt: skip
    used = {providers[s.app] for s in dialplan[0] if s.app in providers}
    assert used <= loaded
    essentials = {"res_ari.so", "app_stasis.so", "res_http_websocket.so", "chan_pjsip.so",
                  "res_pjsip_config_wizard.so"}  # fmt: skip
    assert essentials <= set(mods.get("require"))
    assert not (loaded & noload)


def test_no_real_secrets_in_asterisk_configs() -> None:
    secret_keys = re.compile(r"(^|/)(password|secret|auth_password)$")
    for path in CONFIG_DIR.glob("*.conf"):
        for s in parse_conf(path)[0]:
            for no, key, value in s.lines:
                if secret_keys.search(key):
                    assert value.startswith("CHANGE_ME_"), f"{path.name}:{no}: {key}"
    vm = sections_of(CONFIG_DIR / "voicemail.conf")["hotline"]
    assert all(v.startswith("CHANGE_ME_") for _, _, v in vm.lines)


# ---------------------------------------------------------------- the engine's config


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    from ari_app.cli import main

    rc = main(list(argv))
    return rc, capsys.readouterr().out.splitlines()


def test_example_config_checks(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(EXAMPLE)
    assert len(cfg.queues) >= 2
    assert cfg.agents
    assert cfg.users
    rc, out = run_cli("config", "check", str(EXAMPLE), capsys=capsys)
    assert rc == 0, out
    assert out[-1].endswith("ok (2 queue(s), 4 agent(s), 2 user(s))")


def test_example_config_takes_secrets_from_the_environment() -> None:
    cfg = load_config(EXAMPLE)
    secrets = [cfg.ari.password, cfg.mqtt.password, cfg.engine.caller_number_salt]
    assert all(s.env and not s.value for s in secrets)
    userinfo = urlsplit(cfg.database.url).netloc.rpartition("@")[0]
    assert ":" not in userinfo, "no password in the database URL"
    text = EXAMPLE.read_text()
    assert "value =" not in text


BROKEN = """\
unknown_top = 1
[ari]
url = "ftp://asterisk"
[mqtt]
port = 70000
[http]
port = "eighty"
[[queues]]
name = "support"
rings = 0
welcome = ["hello"]
[queues.hours]
timezone = "Mars/Olympus"
weekly = { someday = ["09:00-18:00"] }
[[queues]]
name = "support"
overflow = { action = "queue" }
[[agents]]
id = "1001"
endpoint = "agent1001"
pin_hash = "1234"
queues = ["nosuchqueue"]
"""


def test_broken_config_reports_every_error_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    rc, out = run_cli("config", "check", str(path), capsys=capsys)
    assert rc == 1
    errors = [line for line in out if line.startswith("error: ")]
    expected_keys = [
        "unknown_top",
        "ari.url",
        "mqtt.port",
        "http.port",
        "queues[0].rings",
        "queues[0].welcome",
        "queues[0].hours.timezone",
        "queues[0].hours.weekly",
        "queues[1].overflow",
        "agents[0].endpoint",
        "agents[0].pin_hash",
    ]
    for key in expected_keys:
        assert any(e.startswith(f"error: {key}: ") for e in errors), (key, errors)
    assert out[-1] == f"{path}: {len(errors)} error(s)"
    # one line per error: the weekday hint stays on its error's line
    assert sum(e.startswith("error: queues[0].hours.weekly: ") for e in errors) == 1
    assert any("like PJSIP/agent1001" in e for e in errors if "agents[0].endpoint" in e)
    # the PIN itself is never echoed back
    assert not any("1234" in e for e in errors)


def test_cross_reference_errors_have_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "xref.toml"
    path.write_text(
        '[[queues]]\nname = "support"\n[[queues]]\nname = "support"\n'
        '[[agents]]\nid = "1"\nendpoint = "PJSIP/a1"\nqueues = ["nosuchqueue"]\n'
    )
    rc, out = run_cli("config", "check", str(path), capsys=capsys)
    assert rc == 1
    assert "error: queues: duplicate name 'support'" in out
    assert "error: agents[0].queues: unknown queue 'nosuchqueue'" in out


def test_invalid_toml_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ari\nurl = 1\n")
    rc, out = run_cli("config", "check", str(path), capsys=capsys)
    assert rc == 1
    assert out[0].startswith(f"error: {path}: not valid TOML")
    rc, out = run_cli("config", "check", str(tmp_path / "missing.toml"), capsys=capsys)
    assert rc == 1
    assert "cannot read" in out[0]


def config_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every dotted key of the config model (`queues[].hours.timezone`)."""
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        yield key
        inner = info.annotation
        args = get_args(inner)
        candidates = [inner, *args, *(a for arg in args for a in get_args(arg))]
        for c in candidates:
            if isinstance(c, type) and issubclass(c, BaseModel) and c is not Secret:
                is_list = get_origin(inner) is tuple
                yield from config_keys(c, f"{key}[]." if is_list else f"{key}.")
                break


def test_every_config_key_is_documented() -> None:
    doc = (ROOT / "docs" / "config.md").read_text()
    keys = list(config_keys(Config))
    assert "queues[].hours.timezone" in keys
    assert "mqtt.password" in keys

    missing = [k for k in keys if not any(f in doc for f in (f"`{k}`", f"`[{k}]`", f"`[[{k}]]`"))]

    assert missing == []
