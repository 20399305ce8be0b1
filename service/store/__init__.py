"""Storage: SQLAlchemy 2 Core over a SQLite file (default) or PostgreSQL (by URL)."""

from service.store.database import DatabaseLimits
from service.store.errors import DatabaseError, DatabaseUnavailableError
from service.store.schema import connect
from service.store.store import Store

__all__ = ["DatabaseError", "DatabaseLimits", "DatabaseUnavailableError", "Store", "connect"]
