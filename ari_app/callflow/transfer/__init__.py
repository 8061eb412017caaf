"""ari_app.callflow.transfer."""
