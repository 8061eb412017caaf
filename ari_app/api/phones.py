"""Which devices the API may hand to the engine: configured phones only.

A device in a request body is dialled by the engine (a supervisor's monitoring leg) or
offered calls (an agent's login). Asterisk dials whatever it is given, so a dial string
(`PJSIP/01012345678@pstn`, `PJSIP/trunk/number`, `Local/x@context`) would send a call's
audio, or a queued caller, off site. Only the phones the configuration names are allowed:
agents' `endpoint`s, `feature_codes.supervisor_endpoints` and users' `device`s, and only
those that have a phone's shape (`Tech/endpoint`, see `PHONE_RE`).
"""

from __future__ import annotations

from ari_app.api.errors import ApiError
from ari_app.config.settings import PHONE_RE, Config


def configured_phones(config: Config) -> frozenset[str]:
    """Every configured phone that has a phone's shape."""
    named = (
        *(a.endpoint for a in config.agents),
        *config.feature_codes.supervisor_endpoints,
        *(u.device for u in config.users if u.device),
    )
    return frozenset(d for d in named if PHONE_RE.fullmatch(d))


def check_device(phones: frozenset[str], device: str) -> str:
    """`device` if it is a configured phone; a 422 that does not echo it otherwise."""
    if device not in phones or not PHONE_RE.fullmatch(device):
        raise ApiError(422, "body.device: not a configured phone (agents' or supervisors' phones)")
    return device
