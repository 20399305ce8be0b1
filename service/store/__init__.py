"""Storage: SQLAlchemy 2 Core over a SQLite file (default) or PostgreSQL (by URL)."""

from service.store.database import DatabaseError, connect
from service.store.store import Store

__all__ = ["DatabaseError", "Store", "connect"]
