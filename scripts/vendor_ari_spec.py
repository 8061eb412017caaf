#!/usr/bin/env python3
"""Vendor Asterisk's ARI specification into the package: ari_app/ari/api_docs/.

The engine, the PBX simulator and the conformance tests read Asterisk's own ARI spec
(Swagger 1.2 JSON, `rest-api/api-docs/*.json` in Asterisk's source). The project ships the
files it needs, byte for byte, with the Asterisk version they came from noted in
`ari_app/ari/api_docs/__init__.py`. Regenerate them from an Asterisk source tree (the
version is read from its `.version` file) or from a directory holding the JSON files:

    python3 scripts/vendor_ari_spec.py ~/src/asterisk-22.10.1
    python3 scripts/vendor_ari_spec.py --asterisk-version 22.10.1 path/to/api-docs
    python3 scripts/vendor_ari_spec.py --check path/to/api-docs   # exit 1 if different
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "ari_app" / "ari" / "api_docs"
sys.path.insert(0, str(ROOT))

from ari_app.ari.spec import RESOURCES  # noqa: E402

INIT = '''"""Asterisk's ARI specification (Swagger 1.2), as published in Asterisk's source tree
(`rest-api/api-docs/*.json`), copied byte for byte by `scripts/vendor_ari_spec.py`.
Read by `ari_app.ari.spec.load_spec()` via importlib.resources. Do not edit the JSON files:
regenerate them with the script. Asterisk is GPL-2.0; the spec files are its published
interface description.
"""

ASTERISK_VERSION = "{asterisk}"
ARI_API_VERSION = "{api}"
'''


def spec_dir_of(source: Path) -> Path:
    """`source` itself if it holds the JSON files, else an Asterisk tree's rest-api/api-docs."""
    if (source / "channels.json").is_file():
        return source
    tree = source / "rest-api" / "api-docs"
    if (tree / "channels.json").is_file():
        return tree
    raise SystemExit(f"error: no ARI spec (channels.json) in {source} or {tree}")


def asterisk_version(source: Path, given: str | None) -> str:
    if given:
        return given
    for candidate in (source / ".version", source.parent / ".version"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").strip()
    raise SystemExit("error: no .version file found; pass --asterisk-version")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="Asterisk source tree or api-docs directory")
    parser.add_argument("--asterisk-version", help="the source's Asterisk version")
    parser.add_argument("--check", action="store_true",
                        help="compare with the vendored copy instead of writing it")
    args = parser.parse_args(argv)
    src = spec_dir_of(args.source)
    files = {f"{r}.json": (src / f"{r}.json").read_bytes() for r in RESOURCES}
    apis = {json.loads(data).get("apiVersion") for data in files.values()}
    if len(apis) != 1:
        raise SystemExit(f"error: mixed apiVersion values {sorted(apis)}")
    if args.check:
        differ = [n for n, data in files.items()
                  if not (DEST / n).is_file() or (DEST / n).read_bytes() != data]
        for name in differ:
            print(f"differs: {name}", file=sys.stderr)
        return 1 if differ else 0
    version = asterisk_version(args.source, args.asterisk_version)
    DEST.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (DEST / name).write_bytes(data)
    (DEST / "__init__.py").write_text(INIT.format(asterisk=version, api=apis.pop()),
                                      encoding="utf-8")
    print(f"vendored {len(files)} files of Asterisk {version}'s ARI spec into {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
