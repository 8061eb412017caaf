"""Live recordings of channels and bridges (a bridge's through a Recorder channel) and
the stored recordings they leave in `recordings_dir`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pbxsim.core import AriError, PbxCore
from pbxsim.media import silent_wav, wav_seconds
from pbxsim.model import Bridge, Json, LiveRecording, recording_snapshot

log = logging.getLogger(__name__)

# Formats `record` accepts, sorted by name (the order a glob of `<name>.*` would give).
_STORED_FORMATS = ("alaw", "g722", "gsm", "sln", "ulaw", "wav", "wav16")


class Recordings(PbxCore):
    """Live and stored recordings."""

    def record(self, target_kind: str, target_id: str, *, name: str, fmt: str,
               max_duration: int, if_exists: str) -> Json:
        if target_kind == "channel":
            ch = self.stasis_channel(target_id)
            app: str | None = ch.app
        else:
            br = self.bridge(target_id)
            app = br.app
        if not name:
            raise AriError(400, "Recording name is required")
        if fmt not in ("wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav16"):
            raise AriError(422, f"Recording format {fmt} not supported")
        if name in self.live_recordings:
            raise AriError(409, "A recording with the same name is currently in progress")
        path = self._stored_path(name)
        if path is not None and if_exists == "fail":
            raise AriError(422, "Recording with the same name already exists on the system")
        rec = LiveRecording(name=name, format=fmt, target_uri=f"{target_kind}:{target_id}",
                            state="queued", app=app,
                            max_duration=float(max_duration) if max_duration > 0 else None)
        self.live_recordings[name] = rec
        response = recording_snapshot(rec)
        if target_kind == "channel":
            ch.recordings.append(name)
            self._recording_started(rec)
        else:
            br.recordings.append(name)
            recorder = self._new_channel(
                tech="Recorder", resource="ARI", channel_id=None, state="Up",
                context="default", exten="s", priority=1, protocol_id="",
                name=f"Recorder/ARI-{self._unreal_seq:08x};2",
            )
            self._seq += 1  # the ;1 half of the recorder's local pair
            self._unreal_seq += 1
            rec.recorder_channel = recorder.id
            self._join(br, recorder, between=lambda: self._recording_started(rec))
            if rec.state != "recording":
                self._recording_started(rec)
        return response

    def _recording_started(self, rec: LiveRecording) -> None:
        if rec.state == "recording":
            return
        rec.state = "recording"
        rec.started = self._now()
        self._emit(rec.app, "RecordingStarted", recording=recording_snapshot(rec))
        if rec.max_duration is not None:
            rec.timer = self._later(rec.max_duration, lambda: self._finish_recording(rec.name))

    def _finish_orphan_recordings(self, br: Bridge | None, force: bool = False) -> None:
        if br is None:
            return
        real = [m for m in br.members if self.channels[m].tech != "Recorder"]
        if real and not force:
            return
        for name in list(br.recordings):
            self._finish_recording(name)

    def _finish_recording(self, name: str, state: str = "done", keep: bool = True) -> None:
        rec = self.live_recordings.pop(name, None)
        if rec is None:
            return
        if rec.timer is not None:
            rec.timer.cancel()
        now = self._now()
        if rec.paused_at is not None:
            rec.paused_total += now - rec.paused_at
        seconds = max(0.0, now - (rec.started or now) - rec.paused_total)
        rec.state = state
        kind, _, owner = rec.target_uri.partition(":")
        if kind == "channel" and owner in self.channels:
            self.channels[owner].recordings.remove(name)
        elif kind == "bridge" and owner in self.bridges:
            br = self.bridges[owner]
            br.recordings.remove(name)
            if rec.recorder_channel and rec.recorder_channel in br.members:
                br.members.remove(rec.recorder_channel)
        if rec.recorder_channel and rec.recorder_channel in self.channels:
            recorder = self.channels.pop(rec.recorder_channel)
            recorder.gone = True
        if keep:
            self._write_recording(rec, seconds)
        self._emit(rec.app, "RecordingFinished" if keep else "RecordingFailed",
                   recording=recording_snapshot(rec, int(seconds)))

    def _write_recording(self, rec: LiveRecording, seconds: float) -> None:
        directory = self.config.recordings_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{rec.name}.{rec.format}").write_bytes(silent_wav(seconds))
        except OSError as exc:
            log.error("cannot write recording %s: %s", rec.name, exc)

    def live_recording(self, name: str) -> LiveRecording:
        rec = self.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    def stop_recording(self, name: str, discard: bool = False) -> None:
        self.live_recording(name)
        self._finish_recording(name, "done" if not discard else "canceled", keep=not discard)

    def pause_recording(self, name: str, pause: bool) -> None:
        rec = self.live_recording(name)
        if pause and rec.paused_at is None:
            rec.paused_at = self._now()
            rec.state = "paused"
        elif not pause and rec.paused_at is not None:
            rec.paused_total += self._now() - rec.paused_at
            rec.paused_at = None
            rec.state = "recording"

    def _stored_path(self, name: str) -> Path | None:
        """The stored file of a recording, probing the formats the simulator records in
        (in name order): O(1), where a glob over a directory holding every past recording
        made each new recording cost O(recordings so far)."""
        directory = self.config.recordings_dir
        if "/" in name or ".." in name:
            return None
        for fmt in _STORED_FORMATS:
            path = directory / f"{name}.{fmt}"
            if path.is_file():
                return path
        return None

    def stored_recordings(self) -> list[Json]:
        directory = self.config.recordings_dir
        if not directory.is_dir():
            return []
        return [{"format": p.suffix.lstrip("."), "name": p.stem}
                for p in sorted(directory.iterdir()) if p.is_file()]

    def stored_recording(self, name: str) -> tuple[Json, Path]:
        path = self._stored_path(name)
        if path is None:
            raise AriError(404, "Recording not found")
        return {"format": path.suffix.lstrip("."), "name": path.stem}, path

    def delete_stored(self, name: str) -> None:
        _, path = self.stored_recording(name)
        path.unlink(missing_ok=True)

    def copy_stored(self, name: str, destination: str) -> Json:
        info, path = self.stored_recording(name)
        if not destination or "/" in destination:
            raise AriError(400, "Invalid destination recording name")
        if self._stored_path(destination) is not None:
            raise AriError(409, "A recording with the same name already exists on the system")
        target = path.with_name(f"{destination}{path.suffix}")
        target.write_bytes(path.read_bytes())
        return {"format": info["format"], "name": destination}

    def stored_seconds(self, name: str) -> float:
        return wav_seconds(self.stored_recording(name)[1])
