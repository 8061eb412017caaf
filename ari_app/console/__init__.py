"""The web console: a live wallboard for supervisors and team leads, and a panel for agents,
served by the engine's own API app (same users, roles, throttle and audit).

- `Board` (`board.py`): the live state, built from the engine (`EngineControl`), its domain
  events and the KPI fold's facts; a snapshot then numbered deltas, resumable.
- `mount_console` (`routes.py`): pages, session login with CSRF, the Server-Sent Events
  stream and the actions, under `/console`.
- `static/`: the pages, plain JavaScript and CSS; nothing is loaded from elsewhere.

See docs/console.md.
"""

from ari_app.console.board import Board
from ari_app.console.routes import PREFIX, mount_console

__all__ = ["PREFIX", "Board", "mount_console"]
