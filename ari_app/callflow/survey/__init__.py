"""The post-call survey room (its pure machine is ari_app.survey.machine)."""
