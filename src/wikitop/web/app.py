"""create_app: the Flask application of wikitop's HTTP API, its OpenAPI document and docs page."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, APIFlask

from wikitop import __version__
from wikitop.queue import HourQueue
from wikitop.services import Services, build_services, open_queue
from wikitop.settings import Settings, load_settings
from wikitop.web import api_v1, dashboard, dashboard_api, prototype
from wikitop.web.docs import serve_docs_assets
from wikitop.web.errors import document_errors, register_error_handlers
from wikitop.web.guard import register_guard
from wikitop.web.hour_requests import HourRequests, is_ok
from wikitop.web.inputs import EXTENSION, current_hour_requests
from wikitop.web.observability import register_metrics
from wikitop.web.schemas import HOUR_PATTERN, HealthOut

# Bodies are a few hundred bytes; anything much larger is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024
DESCRIPTION = """The 25 most viewed pages of every Wikipedia domain code, hour by hour.

Ask for hours with `POST /api/v1/reports` (or the prototype's `/ask_page_views`); workers download
and rank Wikimedia's hourly dumps; read the states and results under `/api/v1/reports`.
Hours are UTC, written `2020010115` or `2020-01-01T15`."""

health = APIBlueprint("health", __name__, tag="Health")


def create_app(
    settings: Settings | None = None, services: Services | None = None, queue: HourQueue | None = None
) -> APIFlask:
    """Build the API on `services` (default: built from the settings) and `queue` (default: the broker's)."""
    settings = settings or (services.settings if services else load_settings())
    services = services or build_services(settings)
    app = APIFlask(
        __name__, title="wikitop", version=__version__, docs_path="/docs", spec_path="/openapi.json"
    )
    # A relative server URL: APIFlask would write the first request's Host header into the
    # document (which it then caches), so one forged Host would be served to every client.
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, DESCRIPTION=DESCRIPTION, SERVERS=[{"url": "/"}])
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = HourRequests(
        settings, services.state, services.results, queue or open_queue(settings), services.blacklists
    )
    register_error_handlers(app)
    register_metrics(app)
    serve_docs_assets(app)
    app.spec_processor(document_spec)
    for blueprint in (prototype.bp, api_v1.bp, dashboard_api.bp, health, dashboard.bp):
        app.register_blueprint(blueprint)
    register_guard(app, settings)
    return app


def document_spec(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Complete APIFlask's OpenAPI document: the prototype's inputs, the hours' pattern, every error."""
    spec = prototype.document_inputs(spec)
    assert isinstance(spec, dict), "SPEC_FORMAT is json"
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "hour":
                    parameter["schema"] = {"type": "string", "pattern": HOUR_PATTERN}
    return document_errors(spec)


@health.get("/healthz")
@health.output(HealthOut, description="The process is up")
def healthz() -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok")


@health.get("/readyz")
@health.output(HealthOut, description="Every dependency answers, the blacklist is loaded, a worker runs")
@health.doc(responses={503: "A dependency failed: `checks` names it and why (never its URL or user)"})
def readyz() -> tuple[HealthOut, int]:
    """Readiness: the state store, the queue's broker and the results storage answer, the blacklist can be
    loaded, and (under `serve`) a worker runs."""
    checks = current_hour_requests().readiness()
    ready = all(is_ok(result) for result in checks.values())
    failed = ", ".join(name for name, result in checks.items() if not is_ok(result))
    status = "ready" if ready else f"not ready: {failed} failed"
    return HealthOut(status=status, checks=checks), 200 if ready else 503
