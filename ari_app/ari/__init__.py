"""A thin, typed asyncio layer over Asterisk's REST Interface (ARI)."""
