"""`METRICS_LISTEN`: `/metrics` (Prometheus text), `/livez` and `/readyz` (200 or 503)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, func, select

from bot.core.db import Database
from bot.core.jobs.models import Job
from bot.core.listener import Listener
from bot.core.observability.health import Probes, readiness
from bot.core.observability.metrics import Metrics

log = logging.getLogger(__name__)


def _job_counts(session: Any) -> dict[str, int]:
    rows = session.exec(select(Job.state, func.count()).group_by(col(Job.state))).all()
    return {str(state): int(count) for state, count in rows}


class ObservabilityServer:
    def __init__(self, *, listen: str, metrics: Metrics, db: Database, probes: Probes) -> None:
        self._metrics = metrics
        self._db = db
        self._probes = probes
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/livez", self._live)
        app.router.add_get("/readyz", self._ready)
        self.listener = Listener(app, listen=listen, name="metrics and health")

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        try:
            self._metrics.set_job_counts(await self._db.run(_job_counts))
        except (SQLAlchemyError, OSError, RuntimeError):  # the rest still tells the admin much
            log.warning("metrics: jobs by state unavailable: the database did not answer")
        self._metrics.set_gateway_latencies(self._probes.gateway_latencies())
        body = generate_latest(self._metrics.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _live(self, request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def _ready(self, request: web.Request) -> web.Response:
        checks = await readiness(self._db, self._probes)
        return web.json_response(checks, status=200 if all(checks.values()) else 503)
