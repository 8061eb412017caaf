"""The engine config: defaults fit the demo, and every error names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.cli import main
from ari_app.config.settings import Config, ConfigError, load_config, parse_config
from ari_app.domain.passwords import hash_secret, verify_secret


def test_defaults_are_the_embedded_demo() -> None:
    cfg = Config()
    assert cfg.engine.app == "hotline"
    assert cfg.database.url.startswith("sqlite:///")
    assert cfg.queue_for_number("12345") is not None
    assert cfg.queue_rings(cfg.queue("support")) == 3
    assert cfg.queue_country(cfg.queue("support")) == "cn"


def test_queue_overrides_ringing_defaults() -> None:
    cfg = parse_config({"queues": [{"name": "vip", "rings": 2, "country": "us"}]})
    assert cfg.queue_rings(cfg.queue("vip")) == 2
    assert cfg.queue_country(cfg.queue("vip")) == "us"


def _errors(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.errors


def test_field_errors_name_their_keys() -> None:
    errors = _errors(
        {
            "ringing": {"rings": 0},
            "queues": [{"name": "support", "greeting": ["hello"], "bogus": 1}],
        }
    )
    assert any(e.startswith("ringing.rings:") for e in errors)
    assert any(e.startswith("queues[0].greeting:") and "'hello'" in e for e in errors)
    assert "queues[0].bogus: unknown key" in errors


def test_unknown_placeholder_in_media_is_rejected() -> None:
    errors = _errors({"queues": [{"name": "s", "greeting": ["digits:{agentid}"]}]})
    assert any("unknown placeholder {agentid}" in e for e in errors)


def test_cross_references_are_checked() -> None:
    errors = _errors(
        {
            "queues": [{"name": "s", "overflow": {"action": "queue", "target": "nowhere"}}],
            "agents": [
                {"id": "1001", "endpoint": "PJSIP/a", "queues": ["sales"]},
                {"id": "1001", "endpoint": "PJSIP/a"},
            ],
        }
    )
    joined = "\n".join(errors)
    assert "agents[0].queues: unknown queue 'sales'" in joined
    assert "agents: duplicate id '1001'" in joined
    assert "agents: duplicate endpoint 'PJSIP/a'" in joined
    assert "queues[0].overflow.target: unknown queue 'nowhere'" in joined


def test_plain_text_pins_and_passwords_are_refused() -> None:
    errors = _errors(
        {
            "agents": [{"id": "1001", "endpoint": "PJSIP/a", "pin_hash": "1234"}],
            "users": [{"name": "sup", "password_hash": "secret", "role": "supervisor"}],
        }
    )
    assert any(e.startswith("agents[0].pin_hash:") for e in errors)
    assert any(e.startswith("users[0].password_hash:") for e in errors)


def test_hash_round_trip_and_malformed_hash() -> None:
    stored = hash_secret("4321", iterations=1000)
    assert verify_secret("4321", stored)
    assert not verify_secret("1234", stored)
    assert not verify_secret("4321", "pbkdf2_sha256$1000$zz$zz")
    assert not verify_secret("4321", "4321")


def test_business_hours_spans_are_validated() -> None:
    errors = _errors({"queues": [{"name": "s", "hours": {"weekly": {"mon": ["18:00-09:00"]}}}]})
    assert any(e.startswith("queues[0].hours.weekly:") for e in errors)
    errors = _errors({"queues": [{"name": "s", "hours": {"timezone": "Mars/Olympus"}}]})
    assert any("unknown time zone" in e for e in errors)


def test_load_config_reports_unreadable_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[engine\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_config_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[queues]]\nname = "support"\nnumbers = ["12345"]\n')
    assert main(["config", "check", str(good)]) == 0
    assert "ok (1 queue(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[ringing]\nrings = 0\ncountry = "China"\n')
    assert main(["config", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "error: ringing.rings:" in out
    assert "error: ringing.country:" in out
    assert "2 error(s)" in out
