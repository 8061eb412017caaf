"""A queue's post-call satisfaction survey (`queues[].survey`): what the caller hears after
the agent hangs up first, and which keys count as answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from ari_app.config.fields import MediaList, _check_media, _Strict


class SurveyQuestion(_Strict):
    prompt: MediaList = ("sound:survey-rate-1-to-5",)
    keys: Annotated[str, Field(pattern=r"^[0-9]{1,10}$")] = "12345"
    """the valid answers, one DTMF digit each; the digit is the score"""

    @field_validator("prompt")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("a survey question needs a prompt")
        return _check_media(v)

    @field_validator("keys")
    @classmethod
    def _distinct(cls, v: str) -> str:
        if len(set(v)) != len(v):
            raise ValueError(f"keys {v!r} repeat a digit")
        return v


class SurveySettings(_Strict):
    enabled: bool = False
    intro: MediaList = ("sound:survey-intro",)
    questions: tuple[SurveyQuestion, ...] = (SurveyQuestion(),)
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    """silence after a question's prompt before it counts as no input"""
    retries: Annotated[int, Field(ge=0, le=3)] = 1
    """repeats of a question after silence or a wrong key"""
    invalid: MediaList = ("sound:survey-invalid",)
    thanks: MediaList = ("sound:survey-thanks",)

    @field_validator("intro", "invalid", "thanks")
    @classmethod
    def _media(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_media(v)

    @field_validator("questions")
    @classmethod
    def _some(cls, v: tuple[SurveyQuestion, ...]) -> tuple[SurveyQuestion, ...]:
        if not v:
            raise ValueError("a survey needs at least one question")
        if len(v) > 9:
            raise ValueError("a survey has at most 9 questions")
        return v
