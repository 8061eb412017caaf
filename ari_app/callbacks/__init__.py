"""Callbacks: in-queue (keep your place) and scheduled (within N working days). The pure
rules (fairness, attempts, dialling windows) live here; the call flow applies them."""
