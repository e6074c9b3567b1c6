"""The dashboard's JSON and CSV endpoints: one hour of one domain code with its moves, as the page shows it."""

from __future__ import annotations

import functools
import re
from typing import Any

from apiflask import APIBlueprint
from flask import Response

from wikitop import sites
from wikitop.hours import parse_hour
from wikitop.state import TaskState
from wikitop.top_pages import ResultNotReadyError
from wikitop.trends import DEFAULT_TOP_N, HourTrends, hour_trends, period_text, render_trends_csv
from wikitop.web.hour_requests import TaskNotFoundError
from wikitop.web.inputs import current_hour_requests
from wikitop.web.trend_schemas import SiteOut, SitesOut, TrendsOut, TrendsQuery, trends_out

bp = APIBlueprint("dashboard_api", __name__, url_prefix="/api/v1", tag="Dashboard")
NOT_FOUND = "The hour was never asked for, or it has no result yet"
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The rows shown", "content": {"text/csv": {"schema": {"type": "string"}}}},
    400: {"description": "Bad hour or parameter"},
    404: {"description": NOT_FOUND},
}


def read_trends(hour_text: str, query: TrendsQuery) -> tuple[TaskState, HourTrends]:
    """Read the hour's rows of the query's domain code with their moves; 404 errors when it has no result."""
    requests = current_hour_requests()
    state, _ = requests.domain_rows(hour_text, query.domain)  # TaskNotFoundError, ResultNotReadyError: 404
    top_n = state.provenance.top_n if state.provenance else DEFAULT_TOP_N
    trends = hour_trends(
        parse_hour(state.hour),
        query.domain,
        lambda hour: requests.domain_pages(hour, query.domain),
        articles_only=query.articles_only,
        view=query.view,
        top_n=top_n,
    )
    if trends is None:  # the result went away between two reads (its file was deleted meanwhile)
        raise ResultNotReadyError(f"hour {state.hour} has no result any more: ask for it again", state)
    return state, trends


def site_name(code: str) -> str | None:
    """The wiki's name of a domain code, or None when the code follows no known rule."""
    found = sites.site(code)
    return found.name if found.host is not None else None


@bp.get("/reports/<hour>/sites")
@bp.output(SitesOut, description="The wikis with rows in the hour's result, by domain code")
@bp.doc(responses={400: "Bad hour", 404: NOT_FOUND})
def list_sites(hour: str) -> SitesOut:
    """List the wikis of the hour's result: domain code, host and name (the hour page's picker suggests them)."""
    _, codes = current_hour_requests().domain_codes(hour)
    return SitesOut(items=[SiteOut.model_validate(sites.site(code), from_attributes=True) for code in codes])


def code_named(name: str, hour_text: str) -> str | None:
    """The domain code of the wiki called `name` (any case): among the hour's wikis, then every known one."""
    folded = name.casefold()
    try:
        codes = current_hour_requests().domain_codes(hour_text)[1]
    except (TaskNotFoundError, ResultNotReadyError):
        codes = []
    known = (sites.site(code) for code in (*codes, *(known.code for known in all_sites())))
    return next((site.code for site in known if site.host and site.name.casefold() == folded), None)


@functools.cache
def all_sites() -> list[sites.Site]:
    """Every wiki known by name (the tables do not change while the process runs)."""
    return sites.all_sites()


@bp.get("/reports/<hour>/trends")
@bp.input(TrendsQuery, location="query")
@bp.output(TrendsOut, description="The hour's rows of one domain code, their moves, the filter's count")
@bp.doc(responses={400: "Bad hour or parameter", 404: NOT_FOUND})
def get_trends(hour: str, query_data: TrendsQuery) -> TrendsOut:
    """Get one hour of one domain code as the dashboard's hour page shows it (the page's JSON download).

    Each row's move is against the previous hour and the same hour the day before: up or down by
    `places`, `same`, `new` (not in that hour's top N) or `unknown` (that hour has no result).
    """
    state, trends = read_trends(hour, query_data)
    period = period_text(parse_hour(state.hour))
    return trends_out(trends, state, query_data, period, site_name(query_data.domain))


@bp.get("/reports/<hour>/trends.csv")
@bp.input(TrendsQuery, location="query")
@bp.doc(responses=CSV_RESPONSES)
def get_trends_csv(hour: str, query_data: TrendsQuery) -> Response:
    """Download what the hour page shows as CSV: the result's four columns, then the title and the moves."""
    state, trends = read_trends(hour, query_data)
    # The domain code is the client's text: only safe characters go into the header.
    code = re.sub(r"[^A-Za-z0-9._-]", "_", query_data.domain) or "empty"
    name = f"top-{state.hour}-{code}-{query_data.filter.value}-{query_data.view.value}"
    disposition = f'attachment; filename="{name}.csv"'
    return Response(
        render_trends_csv(trends), mimetype="text/csv", headers={"Content-Disposition": disposition}
    )
