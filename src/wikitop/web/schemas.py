"""The API's request and response bodies as Pydantic models: they validate input and document the API.

Responses are read from the dataclasses they show (`from_attributes`); the rows of a ranking and the
provenance of a result are those dataclasses themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from wikitop.hours import EXPECTED_FORM, parse_hour, result_path
from wikitop.ranking import RankedPage
from wikitop.state import Provenance, TaskState, TaskStatus, records_a_result
from wikitop.web.hour_requests import Asked, Freshness

HOUR_HELP = f"an hour, UTC: {EXPECTED_FORM}"
# The forms hours.parse_hour reads, for the OpenAPI document (ECMA-262 syntax); the calendar
# (2020-02-30) and the order of a range are checked by the server, not by the pattern.
_HOUR_FORMS = r"([0-9]{10}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}(:00(:00)?)?(Z|\+00:00)?)"
HOUR_PATTERN = rf"^\s*{_HOUR_FORMS}\s*$"
# An optional hour given empty (`?end=`, `"end_date": ""`) is read as not given, as ever.
OPTIONAL_HOUR_PATTERN = rf"^\s*{_HOUR_FORMS}?\s*$"
MAX_PAGE = 1000
# Offsets go to SQL as a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


def hour_field(description: str, required: bool = True) -> Any:
    """A field holding an hour: documented with its pattern, parsed (with a readable error) by the server."""
    extra: JsonDict = {"pattern": HOUR_PATTERN if required else OPTIONAL_HOUR_PATTERN}
    if required:
        return Field(description=description, json_schema_extra=extra)
    return Field(None, description=description, json_schema_extra=extra)


class _Input(BaseModel):
    """A request body or query: unknown fields are errors, JSON types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AskHours(_Input):
    """Ask for the top pages of START..END (END inclusive, default START)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"start": "2020010115", "end": "2020010119", "force": False}]}
    )

    start: str = hour_field(f"first hour, {HOUR_HELP}")
    end: str | None = hour_field("last hour (inclusive); default: the start hour", required=False)
    force: bool = Field(False, description="recompute hours that already have a result")


class TaskListQuery(_Input):
    """Filters and paging of the task list."""

    # Query strings carry text only: numbers are parsed from it.
    model_config = ConfigDict(strict=False)

    status: TaskStatus | None = Field(None, description="only tasks with this status")
    start: str | None = hour_field(f"first hour (inclusive), {HOUR_HELP}", required=False)
    end: str | None = hour_field(f"last hour (inclusive), {HOUR_HELP}", required=False)
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="tasks per page")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="tasks to skip")


class TopQuery(_Input):
    """Which ranked pages of an hour to return."""

    model_config = ConfigDict(strict=False)

    # Dumps hold rows with an empty domain code, ranked like any other: `?domain=` asks for those.
    domain: str | None = Field(
        None, description="one domain code, e.g. en.m; empty (`?domain=`) = the empty code (default: all)"
    )
    limit: int | None = Field(None, ge=1, le=100_000, description="pages per domain code (default: all)")


class PrototypeAsk(_Input):
    """The prototype's body of /ask_page_views (also accepted as query parameters)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"start_date": "2020010115", "end_date": "2020010119"}]},
    )

    start_date: str = hour_field(f"first hour, {HOUR_HELP}")
    end_date: str | None = hour_field("last hour (inclusive); default: the start hour", required=False)


class PrototypeTaskQuery(_Input):
    """The prototype's body of /get_task_state (also accepted as a query parameter)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"date": "2020010115"}]})

    date: str = hour_field(HOUR_HELP)


class TaskOut(BaseModel):
    """The state of one hour's task, with the provenance of its result and links to it."""

    # Declared rather than derived from TaskState: these fields are the API's contract and carry its
    # documentation; their values are read from the TaskState itself (from_attributes).
    model_config = ConfigDict(from_attributes=True)

    hour: str = Field(description="YYYYMMDDHH, UTC")
    status: TaskStatus
    try_count: int
    max_tries: int
    data_path: str | None = Field(
        description="the result file's path under the results storage; download it from `links.csv`"
    )
    error: str | None = Field(description="why the last attempt failed")
    created_at: datetime | None
    updated_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    lease_expires_at: datetime | None
    provenance: Provenance | None
    links: dict[str, str] = Field(default_factory=dict, description="related resources: self, top, csv")

    @model_validator(mode="after")
    def _link(self) -> Self:
        """Link the task to itself, and an hour with a result (even one being recomputed) to its pages and file."""
        has_result = records_a_result(self.data_path, self.provenance)
        self.data_path = public_data_path(self.hour, self.data_path)
        base = f"/api/v1/reports/{self.hour}"
        self.links = {"self": base}
        if has_result:
            self.links |= {"top": f"{base}/top", "csv": f"{base}.csv"}
        return self


class AskedOut(BaseModel):
    """What asking for a range did."""

    message: str
    submitted: list[str] = Field(description="hours published to the queue by this request")
    tasks: list[TaskOut]


class TaskListOut(BaseModel):
    """One page of task states."""

    total: int = Field(description="tasks matching the filters, over all pages")
    limit: int
    offset: int
    items: list[TaskOut]


class TopOut(BaseModel):
    """The ranked pages of one hour."""

    hour: str
    domain: str | None
    limit: int | None
    count: int
    rows: list[RankedPage]


class PrototypeTaskOut(BaseModel):
    """The prototype's task state: `date` is the hour; fields added since are optional for old clients."""

    model_config = ConfigDict(from_attributes=True)

    # Read from TaskState.hour; the prototype's clients know it as `date`.
    date: str = Field(validation_alias=AliasChoices("date", "hour"))
    status: TaskStatus
    try_count: int
    max_tries: int
    data_path: str | None = Field(description="the result file's path under the results storage")
    error: str | None

    @model_validator(mode="after")
    def _relative(self) -> Self:
        """Show the result's path under the results storage, not the server's."""
        self.data_path = public_data_path(self.date, self.data_path)
        return self


class PrototypeAskedOut(BaseModel):
    """What /ask_page_views did."""

    message: str
    tasks: list[PrototypeTaskOut]


class FollowOut(BaseModel):
    """The follow mode: whether workers compute every new hour by themselves, and from when."""

    enabled: bool = Field(description="WIKITOP_FOLLOW (`--follow`)")
    since: str = Field(
        description="WIKITOP_FOLLOW_SINCE: an hour, or a duration back from the newest due hour"
    )
    first_hour: str | None = Field(description="the first hour followed now (YYYYMMDDHH); null when off")


class StatusOut(BaseModel):
    """How fresh the results are: the newest hour with a result, its lag, the tasks by status."""

    newest_result: str | None = Field(description="the newest hour with a result (YYYYMMDDHH); null if none")
    expected_hour: str = Field(
        description="the newest hour Wikimedia should have published by now (WIKITOP_FOLLOW_DELAY_S)"
    )
    lag_s: float | None = Field(description="seconds from the newest result's hour to now; null if none")
    hours_behind: int | None = Field(
        description="hours from the newest result to `expected_hour` (0: up to date); null if none"
    )
    counts: dict[TaskStatus, int] = Field(description="hours in the state store by status")
    follow: FollowOut


class HealthOut(BaseModel):
    """Liveness or readiness, with each dependency's check."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def public_data_path(hour: str, data_path: str | None) -> str | None:
    """The result's path relative to the results storage: the server's own paths are none of a client's business."""
    # Derived from the hour rather than cut from the stored location, which names the server's
    # directory or bucket (and an older WIKITOP_RESULTS_URL, if it changed since).
    return result_path(parse_hour(hour)) if data_path else None


def task_out(state: TaskState) -> TaskOut:
    """Turn a task state into the /api/v1 representation."""
    return TaskOut.model_validate(state)


def asked_out(asked: Asked) -> AskedOut:
    """Turn the outcome of asking into the /api/v1 representation."""
    return AskedOut(
        message=asked.message, submitted=asked.submitted, tasks=[task_out(s) for s in asked.states]
    )


def top_out(hour: str, domain: str | None, limit: int | None, rows: list[RankedPage]) -> TopOut:
    """Turn ranked rows into the /api/v1 representation."""
    return TopOut(hour=hour, domain=domain, limit=limit, count=len(rows), rows=rows)


def prototype_task_out(state: TaskState) -> PrototypeTaskOut:
    """Turn a task state into the prototype's representation."""
    return PrototypeTaskOut.model_validate(state)


def status_out(freshness: Freshness) -> StatusOut:
    """Turn the freshness read from the store into the /api/v1 representation."""
    return StatusOut(
        newest_result=freshness.newest_result,
        expected_hour=freshness.expected_hour,
        lag_s=freshness.lag_s,
        hours_behind=freshness.hours_behind,
        counts=freshness.counts,
        follow=FollowOut(
            enabled=freshness.follow, since=freshness.follow_since, first_hour=freshness.follow_first_hour
        ),
    )
