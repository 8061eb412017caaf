"""How long a recording lasts, from the file itself: the WAV header, or the byte rate of
Asterisk's headerless formats. Pure parsing of bytes; the index does the reading."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Asterisk's raw formats at 8 kHz: bytes per second of audio.
RAW_BYTES_PER_SECOND = {
    "ulaw": 8000.0,
    "alaw": 8000.0,
    "sln": 16000.0,  # 16-bit signed linear
    "gsm": 33 * 50.0,  # one 33-byte frame per 20 ms
}
HEADER_BYTES = 4096
"""Enough to reach the `data` chunk of any WAV Asterisk writes."""


class MediaError(ValueError):
    """The file is not a recording we can measure (truncated or not a WAV)."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    byte_rate: int
    block_align: int
    data_bytes: int

    @property
    def duration_seconds(self) -> float:
        return self.data_bytes / self.byte_rate


def parse_wav_header(head: bytes, file_size: int) -> WavInfo:
    """RIFF/WAVE `fmt ` and `data` chunks from the first bytes of a file of `file_size`.

    A `data` size of 0 or 0xFFFFFFFF (a writer that never came back to fix the header)
    is taken as "to the end of the file"."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise MediaError("not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int, int, int] | None = None
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(head):
                raise MediaError("truncated fmt chunk")
            fmt = struct.unpack_from("<HHIIHH", head, body)
        elif chunk_id == b"data":
            if fmt is None:
                raise MediaError("data chunk before fmt chunk")
            tag, channels, rate, byte_rate, align, bits = fmt
            if byte_rate <= 0:
                raise MediaError("byte rate 0 in fmt chunk")
            available = max(0, file_size - body)
            data = available if size in (0, 0xFFFFFFFF) else min(size, available)
            return WavInfo(tag, channels, rate, bits, byte_rate, align, data)
        pos = body + size + (size & 1)  # chunks are word-aligned
    raise MediaError(f"no data chunk in the first {len(head)} bytes")


def duration_seconds(fmt: str, head: bytes, file_size: int) -> float:
    """The recording's length for a format name as Asterisk uses it (`wav`, `gsm`, ...)."""
    if fmt in ("wav", "wav16"):
        return parse_wav_header(head, file_size).duration_seconds
    try:
        return file_size / RAW_BYTES_PER_SECOND[fmt]
    except KeyError:
        raise MediaError(f"unknown recording format {fmt!r}") from None
