"""How long media takes to play, and the WAV files recordings leave behind.

Durations are read off the traces: `sound:hello-world` 1.402 s, `digits:1001` 3.565 s
(0.891 s a digit). Unknown sounds default to 1.5 s.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

KNOWN_SOUNDS: dict[str, float] = {
    "hello-world": 1.402,
    "beep": 0.25,
    "pls-hold-while-try": 2.1,
    "queue-thankyou": 1.9,
    "queue-periodic-announce": 4.0,
    "vm-goodbye": 0.9,
    "agent-loginok": 1.1,
    "conf-onlyperson": 2.5,
    "silence/1": 1.0,
    "silence/2": 2.0,
    "silence/5": 5.0,
}
DEFAULT_SOUND = 1.5
DIGIT_SECONDS = 0.891
SAMPLE_RATE = 8000


class MediaError(ValueError):
    """A media URI the simulator cannot play."""


def media_duration(
    uri: str,
    sounds: Mapping[str, float] | None = None,
    recordings_dir: Path | None = None,
) -> float:
    """Playing time of one ARI media URI, in seconds."""
    scheme, sep, rest = uri.partition(":")
    if not sep or not rest:
        raise MediaError(f"invalid media URI {uri!r}")
    if scheme == "sound":
        table = {**KNOWN_SOUNDS, **(sounds or {})}
        return table.get(rest, DEFAULT_SOUND)
    if scheme == "digits":
        return DIGIT_SECONDS * sum(1 for c in rest if c.isalnum() or c in "*#")
    if scheme in ("characters",):
        return DIGIT_SECONDS * len(rest)
    if scheme == "number":
        try:
            value = int(rest)
        except ValueError as exc:
            raise MediaError(f"invalid number {rest!r}") from exc
        # "one thousand two hundred..." is about one word per digit.
        return DIGIT_SECONDS * max(1, len(str(abs(value))))
    if scheme == "tone":
        return 1.0
    if scheme == "recording":
        if recordings_dir is not None:
            found = sorted(recordings_dir.glob(f"{rest}.*"))
            if found:
                return wav_seconds(found[0])
        raise MediaError(f"recording {rest!r} not found")
    raise MediaError(f"unsupported media scheme {scheme!r}")


def silent_wav(seconds: float) -> bytes:
    """8 kHz 16-bit mono PCM silence of the given length, as a complete WAV file."""
    frames = max(0, round(seconds * SAMPLE_RATE))
    data_len = frames * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", data_len) + bytes(data_len)


def wav_seconds(path: Path) -> float:
    """Length of a PCM WAV file written by `silent_wav` (or any 44-byte-header WAV)."""
    raw = path.read_bytes()
    if len(raw) < 44 or raw[:4] != b"RIFF":
        return 0.0
    rate = struct.unpack_from("<I", raw, 24)[0]
    block = struct.unpack_from("<H", raw, 32)[0] or 1
    data_len = struct.unpack_from("<I", raw, 40)[0]
    return data_len / block / rate if rate else 0.0
