"""JSON API routes under /api/v1. Every route declares its policy (api.security.allow)."""
