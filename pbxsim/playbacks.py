"""Playbacks on channels and bridges: queued one behind the other, each media URI for
the time `media.media_duration` gives it.
"""

from __future__ import annotations

from pbxsim.core import AriError, PbxCore
from pbxsim.media import MediaError, media_duration
from pbxsim.model import Json, Playback, playback_snapshot


class Playbacks(PbxCore):
    """Playback resources on channels and bridges."""

    def play(self, target_kind: str, target_id: str, media: list[str], lang: str,
             playback_id: str | None) -> Json:
        if target_kind == "channel":
            ch = self.stasis_channel(target_id)
            app, owner_list = ch.app, ch.playbacks
        else:
            br = self.bridge(target_id)
            app, owner_list = br.app, br.playbacks
        if not media:
            raise AriError(400, "Missing parameter media")
        for uri in media:
            try:
                media_duration(uri, self.config.sound_durations, self.config.recordings_dir)
            except MediaError as exc:
                raise AriError(400, str(exc)) from exc
        pb_id = playback_id or self._next_id("pb-")
        if pb_id in self.playbacks:
            raise AriError(409, "Playback ID already exists")
        pb = Playback(id=pb_id, target_uri=f"{target_kind}:{target_id}", media=media, index=0,
                      language=lang or "en", state="queued", app=app)
        self.playbacks[pb_id] = pb
        owner_list.append(pb_id)
        queued_behind = len(owner_list) > 1
        response = playback_snapshot(pb)
        if not queued_behind:
            self._start_media(pb)
            if len(media) == 1:
                response = playback_snapshot(pb)
        return response

    def _start_media(self, pb: Playback) -> None:
        pb.state = "playing"
        self._emit(pb.app, "PlaybackStarted", playback=playback_snapshot(pb))
        uri = pb.media[pb.index]
        secs = media_duration(uri, self.config.sound_durations, self.config.recordings_dir)
        pb.timer = self._later(secs, lambda: self._media_done(pb))

    def _media_done(self, pb: Playback) -> None:
        if pb.id not in self.playbacks:
            return
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self._emit(pb.app, "PlaybackContinuing", playback=playback_snapshot(pb))
            pb.index += 1
            self._start_media(pb)
            return
        self._finish_playback(pb.id)

    def _finish_playback(self, pb_id: str, state: str = "done") -> None:
        pb = self.playbacks.pop(pb_id, None)
        if pb is None:
            return
        if pb.timer is not None:
            pb.timer.cancel()
        was_playing = pb.state in ("playing", "continuing", "paused")
        pb.state = state
        kind, _, owner = pb.target_uri.partition(":")
        owner_list: list[str] = []
        if kind == "channel" and owner in self.channels:
            owner_list = self.channels[owner].playbacks
        elif kind == "bridge" and owner in self.bridges:
            owner_list = self.bridges[owner].playbacks
        if pb_id in owner_list:
            owner_list.remove(pb_id)
        if was_playing:
            self._emit(pb.app, "PlaybackFinished", playback=playback_snapshot(pb))
        if owner_list and owner_list[0] in self.playbacks:
            nxt = self.playbacks[owner_list[0]]
            if nxt.state == "queued":
                self._start_media(nxt)

    def get_playback(self, pb_id: str) -> Json:
        pb = self.playbacks.get(pb_id)
        if pb is None:
            raise AriError(404, "Playback not found")
        return playback_snapshot(pb)

    def stop_playback(self, pb_id: str) -> None:
        if pb_id not in self.playbacks:
            raise AriError(404, "Playback not found")
        self._finish_playback(pb_id)
