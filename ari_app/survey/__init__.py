"""The post-call satisfaction survey: its pure machine (the call flow applies it; the
KPI fold reads the same scoring)."""
