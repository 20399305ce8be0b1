"""The service fixtures of tests/service (a real `emwatch serve` on SQLite and PostgreSQL)."""

from tests.service.conftest import http, service

__all__ = ["http", "service"]
