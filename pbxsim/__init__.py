"""An ARI-compatible PBX simulator that behaves like Asterisk 22 for tests and the demo."""
