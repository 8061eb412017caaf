"""ari_app.callflow."""
