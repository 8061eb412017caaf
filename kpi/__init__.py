"""Hotline KPIs as a pure fold over ARI events, live and replayed."""
