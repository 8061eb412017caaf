"""ari_app.domain.events."""
