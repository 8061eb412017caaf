"""Asterisk's ARI specification (Swagger 1.2), as published in Asterisk's source tree
(`rest-api/api-docs/*.json`), copied byte for byte by `scripts/vendor_ari_spec.py`.
Read by `ari_app.ari.spec.load_spec()` via importlib.resources. Do not edit the JSON files:
regenerate them with the script. Asterisk is GPL-2.0; the spec files are its published
interface description.
"""

ASTERISK_VERSION = "22.10.1"
ARI_API_VERSION = "2.0.0"
