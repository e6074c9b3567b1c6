"""The API's Prometheus metrics: request counts and latencies, tasks by state, queue depth."""

from __future__ import annotations

import time
from typing import Any

from apiflask import APIBlueprint, APIFlask
from flask import Response, g, request

from wikitop.hours import parse_hour
from wikitop.metrics import GaugeCollector, api_metrics, render
from wikitop.state.outage import STATE_OUTAGES
from wikitop.web.inputs import current_hour_requests

bp = APIBlueprint("metrics", __name__, tag="Metrics")
# The methods counted under their own name (RFC 9110's, and PATCH).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Metrics in Prometheus' text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def register_metrics(app: APIFlask) -> None:
    """Time and count every request, and serve /metrics."""
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)


def _start_timer() -> None:
    g.wikitop_started = time.perf_counter()


def _record(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    # A client picks the method: any other than HTTP's own is one label, or each would be a series.
    method = request.method if request.method in HTTP_METHODS else "other"
    recorded = api_metrics()
    recorded.requests.labels(method, endpoint, str(response.status_code)).inc()
    started = g.get("wikitop_started")
    if started is not None:
        recorded.seconds.labels(endpoint).observe(time.perf_counter() - started)
    return response


@bp.get("/metrics")
@bp.doc(summary="Prometheus metrics", responses=METRICS_RESPONSES)
def prometheus_metrics() -> Response:
    """Every API process's request metrics, plus tasks by state and the queue depth, read now."""
    service = current_hour_requests()

    # Read once per scrape. The state store down: no task gauge at all (absent, not a made-up 0) and
    # wikitop_state_up 0 says why; the scrape itself still succeeds.
    try:
        counted: dict[str, float] | None = {
            status.value: float(n) for status, n in service.state.count_by_status().items()
        }
        newest = service.state.newest_result()
    except STATE_OUTAGES:
        counted, newest = None, None

    def tasks_by_state() -> dict[str, float]:
        return counted or {}

    def state_up() -> dict[str, float]:
        return {"": 0.0 if counted is None else 1.0}

    def newest_result() -> dict[str, float]:
        # Absent without a result or without the database, like wikitop_tasks: never a made-up 0.
        return {} if newest is None else {"": parse_hour(newest).timestamp()}

    def queue_depth() -> dict[str, float]:
        try:
            depth = service.queue.depth()
        except Exception:  # the broker is down: the gauge says "unknown", the scrape still works
            depth = None
        return {"": float(-1 if depth is None else depth)}

    body, content_type = render(
        [
            GaugeCollector(
                "wikitop_tasks",
                "Hours in the state store, by status (read at scrape time)",
                "status",
                tasks_by_state,
            ),
            GaugeCollector(
                "wikitop_state_up",
                "1 when the task-state database answered this scrape, 0 when it is down "
                "(then wikitop_tasks is absent)",
                None,
                state_up,
            ),
            GaugeCollector(
                "wikitop_newest_result_timestamp_seconds",
                "The newest hour with a result, as the Unix time of its label (the end of the hour it "
                "counts); alert when time() minus it grows (absent without a result or a database)",
                None,
                newest_result,
            ),
            GaugeCollector(
                "wikitop_queue_depth",
                "Messages waiting in the queue (read at scrape time; -1 unknown)",
                None,
                queue_depth,
            ),
        ]
    )
    return Response(body, content_type=content_type)
