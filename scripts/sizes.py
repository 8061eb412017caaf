"""Print the largest modules, classes and functions of the packages (the redesign's size
rule: no module over 600 lines, no class over 400 in ari_app/, kpi/, pbxsim/)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("ari_app", "kpi", "pbxsim", "recordings")
Rows = list[tuple[int, str]]


def measure(root: Path) -> tuple[Rows, Rows, Rows]:
    modules: Rows = []
    classes: Rows = []
    functions: Rows = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(root).as_posix()
            modules.append((len(text.splitlines()), rel))
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                rows = classes if isinstance(node, ast.ClassDef) else functions
                rows.append((size, f"{rel}:{node.name}"))
    return modules, classes, functions


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for title, rows in zip(("modules", "classes", "functions"), measure(root), strict=True):
        print(f"## largest {title}")
        for size, name in sorted(rows, reverse=True)[:top]:
            print(f"{size:6d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
