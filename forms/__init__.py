"""The page templates and the forms of the shipped processes (installed as the package api.forms)."""
