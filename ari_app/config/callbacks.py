"""A queue's callbacks (`queues[].callback`): the in-queue offer (hang up and keep your
place), how a callback is dialled, how often it is tried, and how the service level counts
its wait. docs/callbacks.md."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ari_app.config.fields import MediaList, _check_media, _Strict

# `Tech/resource` with one `{number}` in the resource: `PJSIP/{number}@carrier`. Not `Local/`,
# which would run dialplan with a caller's number in it.
_TEMPLATE_RE = re.compile(r"(?!Local/)[A-Za-z][A-Za-z0-9]{0,15}/[^\s/]*\{number\}[^\s/]*")


class CallbackSettings(_Strict):
    in_queue: bool = False
    """offer waiting callers to hang up and keep their place"""
    offer_after_seconds: Annotated[float, Field(gt=0)] = 60.0
    """how long a caller waits before hearing the offer (once per call)"""
    key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "1"
    offer_prompt: MediaList = ("sound:queue-callback-offer",)
    confirm_prompt: MediaList = ("sound:queue-callback-confirm",)
    mode: Literal["agent_first", "caller_first"] = "agent_first"
    """agent_first: the reserved agent's phone rings, then the caller is dialled;
    caller_first: the caller is dialled with an agent reserved, the agent rings on answer"""
    dial: str = ""
    """the caller's dial string, e.g. `PJSIP/{number}@carrier` (empty: callbacks are not
    dialled; they stay pending)"""
    dial_timeout_seconds: Annotated[int, Field(ge=5, le=120)] = 30
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    retry_seconds: Annotated[float, Field(ge=0)] = 600.0
    within_working_days: Annotated[int, Field(ge=0, le=30)] = 2
    """a scheduled callback's default deadline: the end of the Nth working day after the
    request (0: the same working day)"""
    sl_from_first_arrival: bool = True
    """a callback call's wait (and so the service level) counts from the caller's first
    arrival; False: from the moment the callback was dialled"""

    @field_validator("offer_prompt", "confirm_prompt")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_media(v)

    @field_validator("dial")
    @classmethod
    def _dial(cls, v: str) -> str:
        if v and (not _TEMPLATE_RE.fullmatch(v) or v.count("{number}") != 1):
            raise ValueError(
                f"{v!r} is not a dial template like PJSIP/{{number}}@carrier (one {{number}},"
                " no Local/)"
            )
        if v and re.search(r"\{(?!number\})", v):
            raise ValueError(f"{v!r}: only {{number}} may be filled in")
        return v

    def endpoint(self, number: str) -> str:
        """The dial string for `number` (digits, `+` only: anything else is refused)."""
        if not re.fullmatch(r"\+?[0-9]{3,20}", number):
            raise ValueError("a callback number must be 3-20 digits, optionally with +")
        return self.dial.replace("{number}", number)
