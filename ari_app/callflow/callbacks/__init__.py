"""The callbacks room of the call flow (the rules: ari_app.callbacks)."""
