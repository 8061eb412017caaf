"""ARI framework the engine does not use, kept for the tests and benchmarks: per-call
event dispatch (`Dispatcher`, `CallRouter`), a replaying fake ARI server, typed resource
methods checked against the spec."""
