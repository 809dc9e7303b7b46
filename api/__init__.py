"""Launch Gate's outer layer: settings, CLI (later the HTTP API and pages). Uses engine's public surface."""
