"""ari_app.callflow.supervision."""
