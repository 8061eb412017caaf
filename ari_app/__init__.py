"""Hotline call-control engine: an Asterisk ARI Stasis application."""
