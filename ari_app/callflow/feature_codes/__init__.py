"""ari_app.callflow.feature_codes."""
