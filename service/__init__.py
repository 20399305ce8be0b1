"""The emwatch service: HTTP, storage and metrics around ``monitor.core``.

``app`` builds the FastAPI application; ``routes/`` answer requests; ``ingest`` scores and
detects each check with the core; ``store/`` keeps runs, checks and alerts (SQLite or
PostgreSQL); ``metrics`` exposes them to Prometheus; ``dashboards/`` generates Grafana's JSON.
It imports only ``monitor.core`` and talks to trainers only over HTTP.
"""
