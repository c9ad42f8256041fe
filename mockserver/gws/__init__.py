"""The GWS REST adapter: /api/v2 resources over the GWS domain (003, 002)."""
