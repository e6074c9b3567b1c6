"""The API's request and response bodies as Pydantic models: they validate input and document the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wikitop.hours import EXPECTED_FORM
from wikitop.state import TaskState, TaskStatus
from wikitop.web.service import Asked, TopRow

HOUR_HELP = f"an hour, UTC: {EXPECTED_FORM}"
MAX_PAGE = 1000


class _Input(BaseModel):
    """A request body or query: unknown fields are errors, JSON types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AskReports(_Input):
    """Ask for the top pages of START..END (END inclusive, default START)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"start": "2020010115", "end": "2020010119", "force": False}]}
    )

    start: str = Field(description=f"first hour, {HOUR_HELP}")
    end: str | None = Field(None, description="last hour (inclusive); default: the start hour")
    force: bool = Field(False, description="recompute hours that already have a result")


class ListReports(_Input):
    """Filters and paging of the task list."""

    # Query strings carry text only: numbers are parsed from it.
    model_config = ConfigDict(strict=False)

    status: TaskStatus | None = Field(None, description="only tasks with this status")
    start: str | None = Field(None, description=f"first hour (inclusive), {HOUR_HELP}")
    end: str | None = Field(None, description=f"last hour (inclusive), {HOUR_HELP}")
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="tasks per page")
    offset: int = Field(0, ge=0, description="tasks to skip")


class TopQuery(_Input):
    """Which ranked pages of an hour to return."""

    model_config = ConfigDict(strict=False)

    # Dumps hold rows with an empty domain code, ranked like any other: `?domain=` asks for those.
    domain: str | None = Field(
        None, description="one domain code, e.g. en.m; empty (`?domain=`) = the empty code (default: all)"
    )
    limit: int | None = Field(None, ge=1, le=100_000, description="pages per domain code (default: all)")


class LegacyAsk(_Input):
    """The prototype's body of /ask_page_views (also accepted as query parameters)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"start_date": "2020010115", "end_date": "2020010119"}]},
    )

    start_date: str = Field(description=f"first hour, {HOUR_HELP}")
    end_date: str | None = Field(None, description="last hour (inclusive); default: the start hour")


class LegacyTaskQuery(_Input):
    """The prototype's body of /get_task_state (also accepted as a query parameter)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"date": "2020010115"}]})

    date: str = Field(description=HOUR_HELP)


class ProvenanceOut(BaseModel):
    """What produced a result."""

    blacklist_sha256: str
    top_n: int
    dump_bytes: int
    lines_read: int
    lines_skipped: int
    rows: int
    duration_s: float


class ReportOut(BaseModel):
    """The state of one hour's task, with the provenance of its result and links to it."""

    hour: str = Field(description="YYYYMMDDHH, UTC")
    status: TaskStatus
    try_count: int
    max_tries: int
    data_path: str | None = Field(description="where the result file is stored")
    error: str | None = Field(description="why the last attempt failed")
    created_at: datetime | None
    updated_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    lease_expires_at: datetime | None
    provenance: ProvenanceOut | None
    links: dict[str, str] = Field(description="related resources: self, top, csv")


class AskedOut(BaseModel):
    """What asking for a range did."""

    message: str
    submitted: list[str] = Field(description="hours published to the queue by this request")
    tasks: list[ReportOut]


class ReportPage(BaseModel):
    """One page of task states."""

    total: int = Field(description="tasks matching the filters, over all pages")
    limit: int
    offset: int
    items: list[ReportOut]


class TopRowOut(BaseModel):
    """One ranked page."""

    domain_code: str
    rank: int
    page_title: str
    views: int


class TopOut(BaseModel):
    """The ranked pages of one hour."""

    hour: str
    domain: str | None
    limit: int | None
    count: int
    rows: list[TopRowOut]


class LegacyTaskOut(BaseModel):
    """The prototype's task state: `date` is the hour; fields added since are optional for old clients."""

    date: str
    status: TaskStatus
    try_count: int
    max_tries: int
    data_path: str | None
    error: str | None


class LegacyAskedOut(BaseModel):
    """What /ask_page_views did."""

    message: str
    tasks: list[LegacyTaskOut]


class HealthOut(BaseModel):
    """Liveness or readiness, with each dependency's check."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def report_out(state: TaskState) -> ReportOut:
    """Turn a task state into the /api/v1 representation."""
    base = f"/api/v1/reports/{state.hour}"
    links = {"self": base}
    if state.status is TaskStatus.SUCCESS:
        links |= {"top": f"{base}/top", "csv": f"{base}.csv"}
    provenance = (
        ProvenanceOut.model_validate(state.provenance, from_attributes=True) if state.provenance else None
    )
    return ReportOut(
        hour=state.hour,
        status=state.status,
        try_count=state.try_count,
        max_tries=state.max_tries,
        data_path=state.data_path,
        error=state.error,
        created_at=state.created_at,
        updated_at=state.updated_at,
        started_at=state.started_at,
        finished_at=state.finished_at,
        worker=state.worker,
        lease_expires_at=state.lease_expires_at,
        provenance=provenance,
        links=links,
    )


def asked_out(asked: Asked) -> AskedOut:
    """Turn the outcome of asking into the /api/v1 representation."""
    return AskedOut(
        message=asked.message, submitted=asked.submitted, tasks=[report_out(s) for s in asked.states]
    )


def top_out(hour: str, domain: str | None, limit: int | None, rows: list[TopRow]) -> TopOut:
    """Turn ranked rows into the /api/v1 representation."""
    out = [
        TopRowOut(domain_code=r.domain_code, rank=r.rank, page_title=r.page_title, views=r.views)
        for r in rows
    ]
    return TopOut(hour=hour, domain=domain, limit=limit, count=len(out), rows=out)


def legacy_task_out(state: TaskState) -> LegacyTaskOut:
    """Turn a task state into the prototype's representation."""
    return LegacyTaskOut(
        date=state.hour,
        status=state.status,
        try_count=state.try_count,
        max_tries=state.max_tries,
        data_path=state.data_path,
        error=state.error,
    )
