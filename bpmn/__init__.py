"""The shipped process diagrams (installed as the package api.bpmn, see api/resources.py)."""
