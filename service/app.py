"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import torch
from fastapi import Depends, FastAPI

from monitor import __version__
from service.auth import Scope, ensure_token
from service.check_input import CheckLimits
from service.errors import CatchAll, install_error_handlers
from service.ingest import IngestService
from service.limits import BodySizeLimit
from service.metrics import ServiceMetrics
from service.openapi import install_openapi
from service.packs import PackRegistry
from service.routes import checks, health, metrics, notifications, packs, runs, samples, tokens
from service.services import Services, known_query_parameters
from service.settings import READINESS_THREADS, ServiceSettings
from service.store import Store, connect
from service.token_cache import TokenCache

DESCRIPTION = """Training-time early warning for emergent misalignment.

Trainers send *checks* (pooled canary-prompt activations) for a *run*; the service scores them
against the run's *probe pack* (misalignment directions and persona SAE latents), detects drift
from the step-0 baseline and raises alerts, exposed here, at `/metrics` and to the trainer.
Authenticate with `Authorization: Bearer <token>` (scopes: ingest, read, admin).
"""


def _log_to_stderr() -> None:
    """One line per event, with time and level, unless the host configured logging itself."""
    logger = logging.getLogger("emwatch")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    _log_to_stderr()
    torch.set_num_threads(settings.torch_threads)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    limits = settings.database_limits()
    store = Store(connect(settings.resolved_database_url(), limits), limits)
    if settings.bootstrap_token:
        ensure_token(store, settings.bootstrap_token, "bootstrap", {Scope.ADMIN})
    registry = PackRegistry(store, settings.data_dir, settings.max_pack_bytes * 4)
    service_metrics = ServiceMetrics(store)
    check_limits = CheckLimits(settings.max_prompts_per_check, settings.max_abs_activation)
    ingest = IngestService(store, registry, service_metrics, check_limits)
    services = Services(
        settings, store, registry, ingest, service_metrics, TokenCache(settings.token_cache_s)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Three pools of threads, each at most as large as the database connections it may
        # use (settings check the sum): readiness never queues behind requests, nor checks
        # behind reads.
        app.state.ready_threads = anyio.CapacityLimiter(READINESS_THREADS)
        app.state.ingest_threads = anyio.CapacityLimiter(settings.ingest_concurrency)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        # The ~250,000 objects of the imports (torch above all) never die; left in the
        # collector's care, every full collection walks them: a 150-300 ms pause for every
        # request in flight. Freezing them leaves collections only the requests' own objects.
        gc.collect()
        gc.freeze()
        yield
        store.engine.dispose()

    app = FastAPI(
        title="emwatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(known_query_parameters)],
    )
    app.state.services = services
    install_error_handlers(app, retry_after_s=settings.db_timeout_s)
    for module in (health, packs, runs, checks, samples, tokens, metrics, notifications):
        app.include_router(module.router)
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.max_json_bytes,
        limits={"/checks": settings.max_check_bytes, "/probe-packs": settings.max_pack_bytes},
    )
    app.add_middleware(CatchAll)
    install_openapi(app, metrics_require_token=settings.metrics_require_token)
    return app
