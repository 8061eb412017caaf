"""Live monitoring (listen, whisper, barge) and recordings. Supervisors act on any call;
team leads coach their own team (the rules: 班組長 supervise their team's service) and
manage only the sessions they started. Recordings are for supervisors. Every start, mode
change, stop and download is audited, as are refusals."""

import re
from enum import Enum
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from fastapi.responses import StreamingResponse

from ari_app.api.access import Access, ApiContext, Policy, Roles
from ari_app.api.control import IndexedRecording, MonitorSession, MonitorTarget
from ari_app.api.phones import check_device
from ari_app.api.schemas import (
    AgentIdPath,
    CallIdPath,
    CallIdQuery,
    LimitQuery,
    ModeIn,
    MonitorIn,
    RecordingNamePath,
    SessionIdPath,
)

COACHES: Roles = {"team_lead": "team", "supervisor": "all"}
SESSION_OWNERS: Roles = {"team_lead": "self", "supervisor": "all"}
SUPERVISORS: Roles = {"supervisor": "all"}


def supervision_routes(ctx: ApiContext, app: FastAPI) -> None:
    tags: list[str | Enum] = ["supervision"]
    control = ctx.control

    on_call = Policy(ctx, "monitor.start", "call", COACHES, audit="always")

    @app.post(
        "/calls/{call_id}/monitor",
        tags=tags,
        response_model=MonitorSession,
        status_code=201,
        **on_call.options(404, 409),
    )
    async def monitor_call(
        call_id: CallIdPath, body: MonitorIn, access: Annotated[Access, Depends(on_call)]
    ) -> MonitorSession:
        """Dial the supervisor's phone (a configured one) and bridge it with a snoop on the
        call's agent leg."""
        device = check_device(ctx.phones, body.device)
        with access.audited(mode=body.mode, device=device) as notes:
            session = await control.monitor(
                MonitorTarget("call", call_id), body.mode, device, access.who.name
            )
            notes["session"] = session.session_id
        return session

    on_agent = Policy(ctx, "monitor.start", "agent", COACHES, audit="always")

    @app.post(
        "/agents/{agent_id}/monitor",
        tags=tags,
        response_model=MonitorSession,
        status_code=201,
        **on_agent.options(404, 409),
    )
    async def monitor_agent(
        agent_id: AgentIdPath, body: MonitorIn, access: Annotated[Access, Depends(on_agent)]
    ) -> MonitorSession:
        """Monitor whatever call the agent is on now."""
        device = check_device(ctx.phones, body.device)
        with access.audited(mode=body.mode, device=device) as notes:
            session = await control.monitor(
                MonitorTarget("agent", agent_id), body.mode, device, access.who.name
            )
            notes["session"] = session.session_id
        return session

    show = Policy(ctx, "monitor.show", "monitor", SESSION_OWNERS)

    @app.get("/monitor/{session_id}", tags=tags, response_model=MonitorSession, **show.options(404))
    async def get_session(
        session_id: SessionIdPath, access: Annotated[Access, Depends(show)]
    ) -> MonitorSession:
        return await control.monitor_session(session_id)

    change = Policy(ctx, "monitor.mode", "monitor", SESSION_OWNERS, audit="always")

    @app.patch(
        "/monitor/{session_id}",
        tags=tags,
        response_model=MonitorSession,
        **change.options(404, 409),
    )
    async def change_mode(
        session_id: SessionIdPath, body: ModeIn, access: Annotated[Access, Depends(change)]
    ) -> MonitorSession:
        """Switch between listen, whisper and barge without redialling."""
        with access.audited(mode=body.mode):
            return await control.change_monitor_mode(session_id, body.mode)

    stop = Policy(ctx, "monitor.stop", "monitor", SESSION_OWNERS, audit="always")

    @app.delete("/monitor/{session_id}", tags=tags, status_code=204, **stop.options(404))
    async def stop_monitor(
        session_id: SessionIdPath, access: Annotated[Access, Depends(stop)]
    ) -> Response:
        with access.audited():
            await control.stop_monitor(session_id)
        return Response(status_code=204)

    listing = Policy(ctx, "recording.list", "recording", SUPERVISORS)

    @app.get("/recordings", tags=tags, response_model=list[IndexedRecording], **listing.options())
    async def list_recordings(
        access: Annotated[Access, Depends(listing)],
        call_id: CallIdQuery = None,
        limit: LimitQuery = 100,
    ) -> list[IndexedRecording]:
        """Newest first; optionally those of one call."""
        return list(await control.recordings(call_id, limit))

    meta = Policy(ctx, "recording.show", "recording", SUPERVISORS)

    @app.get("/recordings/{name}", tags=tags, response_model=IndexedRecording, **meta.options(404))
    async def get_recording(
        name: RecordingNamePath, access: Annotated[Access, Depends(meta)]
    ) -> IndexedRecording:
        return await control.recording(name)

    download = Policy(ctx, "recording.download", "recording", SUPERVISORS, audit="always")
    download_doc = download.options(404)
    download_doc["responses"][200] = {
        "description": "the recording's audio",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }

    @app.get(
        "/recordings/{name}/audio", tags=tags, response_class=StreamingResponse, **download_doc
    )
    async def download_recording(
        name: RecordingNamePath, access: Annotated[Access, Depends(download)]
    ) -> StreamingResponse:
        """The audit row is written when the file is opened, before any byte goes out."""
        with access.audited() as notes:
            stream = await control.open_recording(name, access.who.name, access.who.role)
            notes["sha256"] = stream.info.sha256
        fmt = stream.info.format if re.fullmatch(r"[a-z0-9]{1,8}", stream.info.format) else "bin"
        filename = f"{stream.info.name}.{fmt}"
        return StreamingResponse(
            stream.chunks,
            media_type=stream.content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
