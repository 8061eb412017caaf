"""ari_app.config.settings."""
