"""Phones' feature codes: Stasis args parsed into typed requests, and the login dialogue
(agent ID, PIN) as a pure state machine.

The dialplan sends `*21` .. `*24` as `Stasis(hotline,agent,login|logout|pause[,N]|unpause)`
and `*31..*33<agent>` as `Stasis(hotline,supervise,listen|whisper|barge,<agent>)`. The
engine's own agent legs enter Stasis with args `["agent"]` alone, so a feature request is
told apart by having an action after it.

`LoginFlow` decides what to ask and when to check a PIN; it never checks one itself (PBKDF2
runs off the event loop) and does no I/O: the core plays what it says, feeds it digits,
digit timeouts and PIN results, and carries out the login it asks for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ari_app.callflow.supervision.machine import Mode

AGENT, SUPERVISE = "agent", "supervise"
ROLE = "feature"  # HOTLINE_ROLE of a feature-code call: not a hotline call for the KPIs
MAX_ATTEMPTS = 3
MAX_DIGITS = 16
DEFAULT_PAUSE_REASON = "break"

# Stock Asterisk prompts (core sounds, en).
PROMPTS: Mapping[str, tuple[str, ...]] = {
    "agent_id": ("sound:agent-user",),
    "pin": ("sound:agent-pass",),
    "retry_agent_id": ("sound:agent-incorrect", "sound:agent-user"),
    "retry_pin": ("sound:agent-incorrect", "sound:agent-pass"),
    "login_ok": ("sound:agent-loginok",),
    "logout_ok": ("sound:agent-loggedoff",),
    "paused": ("sound:beep",),
    "unpaused": ("sound:beep",),
    "bad_credentials": ("sound:agent-incorrect", "sound:vm-goodbye"),
    "already_logged_in": ("sound:agent-alreadyon",),
    "device_in_use": ("sound:agent-alreadyon",),
    "refused": ("sound:beeperr",),
    "error": ("sound:an-error-has-occurred",),
}


class Action(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    UNPAUSE = "unpause"


@dataclass(frozen=True, slots=True)
class AgentRequest:
    action: Action
    reason_code: str = ""  # *23N: one digit


@dataclass(frozen=True, slots=True)
class SuperviseRequest:
    mode: Mode
    agent_id: str


@dataclass(frozen=True, slots=True)
class BadRequest:
    reason: str


FeatureRequest = AgentRequest | SuperviseRequest | BadRequest


def is_feature(args: Sequence[object]) -> bool:
    """`["agent"]` alone is one of the engine's own agent legs, not a feature code."""
    if not args:
        return False
    return args[0] == SUPERVISE or (args[0] == AGENT and len(args) >= 2)


def parse_request(args: Sequence[object]) -> FeatureRequest:
    """Stasis args (after the app name) → a request; anything odd → BadRequest(why)."""
    if not args or not all(isinstance(a, str) for a in args):
        return BadRequest("args must be strings")
    kind, rest = args[0], [str(a) for a in args[1:]]
    if kind == AGENT:
        if not rest:
            return BadRequest("agent: no action")
        try:
            action = Action(rest[0])
        except ValueError:
            return BadRequest(f"agent: unknown action {rest[0][:16]!r}")
        extra = rest[1:]
        if action is Action.PAUSE and len(extra) == 1:
            code = extra[0]
            if len(code) == 1 and code.isdigit():
                return AgentRequest(action, code)
            return BadRequest(f"agent: pause reason code {code[:16]!r} is not one digit")
        if extra:
            return BadRequest(f"agent {action}: unexpected arguments")
        return AgentRequest(action)
    if kind == SUPERVISE:
        if len(rest) != 2:
            return BadRequest("supervise: needs a mode and an agent ID")
        try:
            mode = Mode(rest[0])
        except ValueError:
            return BadRequest(f"supervise: unknown mode {rest[0][:16]!r}")
        agent_id = rest[1]
        if not (1 <= len(agent_id) <= 16 and agent_id.isascii() and agent_id.isalnum()):
            return BadRequest("supervise: bad agent ID")
        return SuperviseRequest(mode, agent_id)
    return BadRequest(f"unknown feature {str(kind)[:16]!r}")


def device_of(channel_name: str) -> str:
    """The calling endpoint of a channel: `PJSIP/agent1001-00000014` → `PJSIP/agent1001`."""
    base, sep, suffix = channel_name.rpartition("-")
    if sep and base and suffix and all(c in "0123456789abcdefABCDEF" for c in suffix):
        return base
    return channel_name


def pause_reason(code: str, reasons: Mapping[str, str]) -> str:
    """`*23N`: the configured reason for N, else `code-N`; plain `*23`: a break."""
    if not code:
        return DEFAULT_PAUSE_REASON
    return reasons.get(code) or f"code-{code}"


# ---------------------------------------------------------------- digit collection


@dataclass(slots=True)
class Digits:
    """Digits ending with '#'; '*' starts over. Too many digits end the entry too."""

    max_digits: int = MAX_DIGITS
    text: str = ""

    def press(self, digit: str) -> str | None:
        """The finished entry, or None while still typing."""
        if digit == "#":
            return self.take()
        if digit == "*":
            self.text = ""
            return None
        if len(digit) != 1 or not digit.isdigit():
            return None
        self.text += digit
        if len(self.text) >= self.max_digits:
            return self.take()
        return None

    def take(self) -> str:
        text, self.text = self.text, ""
        return text


# ---------------------------------------------------------------- the login dialogue


class Phase(StrEnum):
    AGENT_ID = "agent_id"
    PIN = "pin"
    CHECKING = "checking"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Ask:
    """Play `media`, then listen for digits (timer: the inter-digit timeout)."""

    media: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verify:
    """Check `pin` for `agent_id` off the event loop, then call `checked(ok)`."""

    agent_id: str
    pin: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Login:
    agent_id: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Play `media` and hang up."""

    media: tuple[str, ...]
    reason: str


Step = Ask | Verify | Login | Refuse


@dataclass(slots=True)
class LoginFlow:
    """`*21`: who is logging in (the phone's own agent, or an ID typed in) and their PIN.

    An ID typed in is always followed by a PIN question, known or not, and an unknown ID
    fails like a wrong PIN: IDs are not to be probed from a phone either. An agent without
    a `pin_hash` logs in from their own phone only. Three failed attempts (wrong PIN, empty
    entry, silence) end the call.
    """

    agent_id: str = ""  # known from the calling endpoint, or typed in
    pin_needed: bool = True
    by_phone: bool = False  # the agent was found by the calling endpoint
    phase: Phase = Phase.AGENT_ID
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    digits: Digits = field(default_factory=Digits)

    @property
    def listening(self) -> bool:
        return self.phase in (Phase.AGENT_ID, Phase.PIN)

    def start(self) -> Step:
        if not self.by_phone:
            self.phase = Phase.AGENT_ID
            return Ask(PROMPTS["agent_id"])
        if not self.pin_needed:
            self.phase = Phase.DONE
            return Login(self.agent_id)
        self.phase = Phase.PIN
        return Ask(PROMPTS["pin"])

    def digit(self, digit: str) -> Step | None:
        if not self.listening:
            return None
        entry = self.digits.press(digit)
        return None if entry is None else self._entry(entry)

    def timeout(self) -> Step | None:
        """The inter-digit timer fired: what was typed so far is the entry."""
        if not self.listening:
            return None
        return self._entry(self.digits.take())

    def _entry(self, text: str) -> Step:
        if not text:
            return self._failed()
        if self.phase is Phase.AGENT_ID:
            self.agent_id = text
            self.phase = Phase.PIN
            return Ask(PROMPTS["pin"])
        self.phase = Phase.CHECKING
        return Verify(self.agent_id, text)

    def checked(self, ok: bool) -> Step | None:
        if self.phase is not Phase.CHECKING:
            return None
        if ok:
            self.phase = Phase.DONE
            return Login(self.agent_id)
        return self._failed()

    def _failed(self) -> Step:
        self.attempts += 1
        self.digits.take()
        if self.attempts >= self.max_attempts:
            self.phase = Phase.DONE
            return Refuse(PROMPTS["bad_credentials"], "bad_credentials")
        if self.by_phone:
            self.phase = Phase.PIN
            return Ask(PROMPTS["retry_pin"])
        self.agent_id = ""
        self.phase = Phase.AGENT_ID
        return Ask(PROMPTS["retry_agent_id"])


@dataclass(slots=True)
class FeatureCall:
    """The core's bookkeeping of one feature-code call until it hangs up."""

    channel_id: str
    device: str
    flow: LoginFlow | None = None
    closing: bool = False
    prompt: str = ""  # the playback now playing
    holds_agent: str = ""  # made available from this phone: offered calls once it hangs up
    seq: int = 0

    def next_playback(self) -> str:
        self.seq += 1
        return f"feat-{self.channel_id}-{self.seq}"
