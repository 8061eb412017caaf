"""The layering contracts in pyproject.toml (`lint-imports`) hold, and they would catch a
lower layer importing a higher one: checked on a copy of the packages, one with a reversed
import planted in the domain, one untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ari_app", "kpi", "recordings", "pbxsim")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def copy_project(dest: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.json")
        )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=where, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )


def plant(module: Path, line: str) -> None:
    text = module.read_text()
    head, sep, rest = text.partition("from __future__ import annotations\n")
    assert sep, module
    module.write_text(head + sep + "\n" + line + "\n" + rest)


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("untouched"))


def test_contracts_are_kept_on_an_untouched_copy(untouched: Path) -> None:
    result = lint_imports(untouched)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_domain_importing_the_shell_breaks_the_layers(tmp_path: Path) -> None:
    copy = copy_project(tmp_path)
    plant(copy / "ari_app" / "domain" / "events.py", "import ari_app.shell.engine  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Layers, top to bottom" in result.stdout
    assert "BROKEN" in result.stdout
    assert "ari_app.domain.events -> ari_app.shell.engine" in result.stdout


def test_core_doing_io_breaks_the_pure_core_contract(tmp_path: Path) -> None:
    copy = copy_project(tmp_path)
    plant(copy / "ari_app" / "domain" / "privacy.py", "import asyncio  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "The pure core does no I/O BROKEN" in result.stdout
