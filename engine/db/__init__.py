"""Persistence: ORM rows, sessions, queries and Alembic migrations. Knows SQLAlchemy, not SpiffWorkflow."""
