"""The REST API under /api/v1: ask for hours, list and read their task states, their top pages and CSV files.

Its resource is `/reports` (a contract); inside, one hour's record is a task, as everywhere else.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response

from wikitop.web.guard import writes
from wikitop.web.inputs import current_hour_requests
from wikitop.web.schemas import (
    AskedOut,
    AskHours,
    StatusOut,
    TaskListOut,
    TaskListQuery,
    TaskOut,
    TopOut,
    TopQuery,
    asked_out,
    status_out,
    task_out,
    top_out,
)

bp = APIBlueprint("api_v1", __name__, url_prefix="/api/v1", tag="Reports")
NOT_FOUND = "The hour was never asked for, or it has no result yet"
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The result file", "content": {"text/csv": {"schema": {"type": "string"}}}},
    400: {"description": "Bad hour"},
    404: {"description": NOT_FOUND},
}


@bp.post("/reports")
@bp.input(AskHours, location="json", example={"start": "2020010115", "end": "2020010119", "force": False})
@bp.output(AskedOut, status_code=202, description="The hours were recorded; those needing work were queued")
@bp.doc(responses={400: "Bad hour, range or body", 413: "Body over the size limit"})
@writes
def ask_hours(json_data: AskHours) -> AskedOut:
    """Ask for the top pages of start..end.

    The whole range is validated first. Hours that are queued, running or already have a result
    are not submitted again; failed ones are retried; `force` recomputes the hours that have a
    result (never one already queued or running).
    """
    return asked_out(current_hour_requests().ask(json_data.start, json_data.end, json_data.force))


@bp.get("/reports")
@bp.input(TaskListQuery, location="query")
@bp.output(TaskListOut, description="One page of task states, ordered by hour")
@bp.doc(responses={400: "Bad filter or paging value"})
def list_tasks(query_data: TaskListQuery) -> TaskListOut:
    """List task states, filtered by status and hour range, with paging."""
    q = query_data
    tasks = current_hour_requests().list_tasks(q.status, q.start, q.end, q.limit, q.offset)
    return TaskListOut(
        total=tasks.total, limit=q.limit, offset=q.offset, items=[task_out(s) for s in tasks.states]
    )


@bp.get("/reports/<hour>")
@bp.output(TaskOut, description="The hour's task state, with the provenance of its result")
@bp.doc(responses={400: "Bad hour", 404: "The hour was never asked for"})
def get_task(hour: str) -> TaskOut:
    """Get the state of one hour's task (hour as 2020010115 or 2020-01-01T15)."""
    return task_out(current_hour_requests().get(hour))


@bp.get("/reports/<hour>/top")
@bp.input(TopQuery, location="query")
@bp.output(TopOut, description="Ranked pages, read from the stored result")
@bp.doc(responses={400: "Bad hour or parameter", 404: NOT_FOUND})
def get_top(hour: str, query_data: TopQuery) -> TopOut:
    """Get the hour's top pages, of one domain code or all, at most `limit` per domain code."""
    state, rows = current_hour_requests().top(hour, query_data.domain, query_data.limit)
    return top_out(state.hour, query_data.domain, query_data.limit, rows)


@bp.get("/reports/<hour>.csv")
@bp.doc(responses=CSV_RESPONSES)
def get_result_csv(hour: str) -> Response:
    """Download the hour's result file: `domain_code,rank,page_title,views`."""
    state, data = current_hour_requests().read_csv(hour)
    disposition = f'inline; filename="top-{state.hour}.csv"'
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": disposition})


@bp.get("/status")
@bp.output(
    StatusOut, description="The newest hour with a result, its lag, the tasks by status, the follow mode"
)
def get_status() -> StatusOut:
    """How fresh the results are: the newest computed hour and how far it lags behind now.

    `lag_s` counts from the newest result's hour label (the end of the hour it covers): a service
    keeping up stays between WIKITOP_FOLLOW_DELAY_S and about an hour more.
    """
    return status_out(current_hour_requests().freshness())
