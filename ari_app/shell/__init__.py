"""ari_app.shell."""
