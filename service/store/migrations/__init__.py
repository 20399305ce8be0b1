"""Alembic migrations of the service's database, applied by ``service.store.schema``."""
