"""The index of call recordings: metadata, checksums, retention, audited access."""
