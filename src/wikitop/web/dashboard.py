"""The dashboard: server-rendered pages of the newest hours, what rose in them, and a form to ask for hours.

Pages work without JavaScript; every choice of an hour page is in its URL's query (the permalink).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from wikitop.errors import StateUnavailableError, UsageError
from wikitop.hours import HOUR, format_hour, hour_range, parse_hour
from wikitop.state import TaskState, TaskStatus
from wikitop.state.outage import STATE_OUTAGES
from wikitop.top_pages import ResultNotReadyError
from wikitop.trends import MoveKind, View, period_text
from wikitop.web.dashboard_api import code_named, read_trends, site_name
from wikitop.web.errors import STATE_RETRY_AFTER_S, state_unavailable_response
from wikitop.web.guard import form_writes, retry_after_s, token_matches, too_many_message
from wikitop.web.hour_requests import HourRequests, TaskNotFoundError
from wikitop.web.inputs import current_hour_requests
from wikitop.web.trend_schemas import RowFilter, TrendsQuery

HERE = Path(__file__).parent
bp = Blueprint(
    "dashboard",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static/dashboard",
)
NEWEST_HOURS = 12
# What a domain code looks like (en, en.m, de.b, zh-min-nan.m, www.wd); names have capitals or spaces.
DOMAIN_CODE = re.compile(r"([a-z0-9_-]+(\.[a-z]+)*)?", re.ASCII)
LATEST_FAILURES = 5
# Pages load their own CSS and JS only; titles are other people's text, escaped by Jinja, and the
# policy is the second line of defence against markup that would slip through.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@bp.after_request
def add_security_headers(response: Response) -> Response:
    """Send the pages' security headers."""
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.app_template_filter("thousands")
def thousands(number: int) -> str:
    """1234567 -> 1,234,567."""
    return f"{number:,}"


@bp.app_template_global("period")
def period(hour: str) -> str:
    """The period an hour label covers, in words."""
    return period_text(parse_hour(hour))


@bp.app_template_global("utc")
def utc(moment: datetime | None) -> str:
    """A moment as "2020-01-01 15:52 UTC"; an empty string for none."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@bp.get("/")
def overview() -> str:
    """The overview: freshness, tasks by status, latest failures, the ask form, the newest hours."""
    return render_template("overview.html", **_overview_context(), form={}, errors={})


@bp.post("/ask")
@form_writes
def ask() -> BaseResponse | tuple[str, int]:
    """Ask for a range through the form: the API's rules and messages; redirect to the overview after."""
    requests = current_hour_requests()
    form = {name: request.form.get(name, "") for name in ("start", "end")}
    token = requests.settings.api_token
    if token and not token_matches(request.form.get("token", ""), token):
        return _form_error(form, "token", "asking for hours needs the API token: a missing or wrong one", 401)
    try:
        asked = requests.ask(form["start"], form["end"])
    except UsageError as exc:
        return _form_error(form, _refused_field(form["start"]), str(exc), 400)
    hours = [state.hour for state in asked.states]
    target = url_for(".overview", asked=f"{hours[0]}..{hours[-1]}", _anchor="asked")
    return redirect(target, code=303)  # post-redirect-get: a reload does not ask again


@bp.get("/hours/<hour>", strict_slashes=False)
def hour_page(hour: str) -> BaseResponse | tuple[str, int] | str:
    """One hour of one domain code: ranks, titles, views, moves, the filter and the view."""
    try:
        query = TrendsQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        return _error_page("Bad query", "; ".join(_problems(exc)), 400)
    try:
        label = format_hour(parse_hour(hour))
    except UsageError as exc:
        return _error_page("Bad hour", str(exc), 400)
    found = _resolve_domain(query.domain, label)
    if found is None:
        message = f"no wiki has the domain code or name {query.domain!r}: try a code such as en, de.b or en.m"
        return _error_page("Unknown wiki", message, 400, hour=label)
    if found != query.domain or label != hour:
        canonical: dict[str, Any] = {"hour": label, **query.link_args(domain=found)}
        return redirect(url_for(".hour_page", **canonical), code=302)
    return _render_hour(label, query)


def _render_hour(label: str, query: TrendsQuery) -> tuple[str, int] | str:
    """The hour page of a valid hour and query, or the page that says the hour has no result."""
    try:
        state, trends = read_trends(label, query)
    except (TaskNotFoundError, ResultNotReadyError) as exc:
        return _error_page("No result for this hour", str(exc), 404, hour=label, query=query)
    return render_template(
        "hour.html",
        state=state,
        trends=trends,
        query=query,
        site_name=site_name(query.domain),
        neighbours=_neighbours(label),
        MoveKind=MoveKind,
        View=View,
        RowFilter=RowFilter,
        top_views=max((row.views for row in trends.rows), default=0),
    )


def _overview_context() -> dict[str, Any]:
    requests = current_hour_requests()
    return {
        "freshness": requests.freshness(),
        "failures": sorted(
            _latest(requests, TaskStatus.FAILED, LATEST_FAILURES)
            + _latest(requests, TaskStatus.UNAVAILABLE, LATEST_FAILURES),
            key=lambda state: state.hour,
            reverse=True,
        )[:LATEST_FAILURES],
        "newest": _latest(requests, TaskStatus.SUCCESS, NEWEST_HOURS),
        "asked": _asked_states(request.args.get("asked", "")),
        "needs_token": bool(requests.settings.api_token),
        "max_range_hours": requests.settings.max_range_hours,
        "TaskStatus": TaskStatus,
    }


def _latest(requests: HourRequests, status: TaskStatus, count: int) -> list[TaskState]:
    """The newest `count` hours with `status`, newest first."""
    total = requests.state.count(status)
    found = requests.state.find(status, limit=count, offset=max(total - count, 0))
    return [requests.public(state) for state in reversed(found)]


def _asked_states(asked: str) -> list[TaskState] | None:
    """The states of the range the form just asked for (`?asked=START..END`), or None."""
    start, _, end = asked.partition("..")
    if not start:
        return None
    requests = current_hour_requests()
    try:
        hours = [format_hour(hour) for hour in hour_range(start, end, requests.settings.max_range_hours)]
    except UsageError:
        return None
    states = requests.state.get_many(hours)
    return [requests.public(states[hour]) for hour in hours if hour in states]


def _refused_field(start: str) -> str:
    """Which field a refused range is about: the start when it is refused on its own, else the end."""
    try:
        hour_range(start, None, 1) if start.strip() else parse_hour(start)
    except UsageError:
        return "start"
    return "end"


# A person reads these pages: what the API answers as JSON (a refused hour, the rate limit, the
# state store down) is a page here, with the same status, message and headers.
@bp.errorhandler(UsageError)
def _refused(error: UsageError) -> tuple[str, int]:
    return _error_page("Bad request", str(error), 400)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    page, _ = _error_page(error.name, error.description or error.name, code)
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return Response(page, code, headers, mimetype="text/html")


@bp.errorhandler(RateLimitExceeded)  # the app's own is found first otherwise: it is registered for 429
def _too_many(error: RateLimitExceeded) -> Response:
    page, _ = _error_page("Too many asks", too_many_message(error), 429)
    return Response(page, 429, {"Retry-After": str(retry_after_s())}, mimetype="text/html")


def _outage(error: Exception) -> Response:
    body, code, _ = state_unavailable_response(error)  # it logs the reason
    page, _ = _error_page("Temporarily unavailable", body["message"], code)
    return Response(page, code, {"Retry-After": str(STATE_RETRY_AFTER_S)}, mimetype="text/html")


for _outage_error in (*STATE_OUTAGES, StateUnavailableError):
    bp.register_error_handler(_outage_error, _outage)


def _form_error(form: dict[str, str], field: str, message: str, status: int) -> tuple[str, int]:
    context = _overview_context()
    return render_template("overview.html", **context, form=form, errors={field: message}), status


def _error_page(
    title: str, message: str, status: int, hour: str | None = None, query: TrendsQuery | None = None
) -> tuple[str, int]:
    neighbours = _neighbours(hour) if hour else None
    page = render_template(
        "error.html", title=title, message=message, hour=hour, query=query, neighbours=neighbours
    )
    return page, status


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error['loc']) or 'query'}: {error['msg']}" for error in exc.errors()
    ]


def _neighbours(label: str) -> dict[str, str]:
    hour = parse_hour(label)
    return {"previous": format_hour(hour - HOUR), "next": format_hour(hour + HOUR)}


def _resolve_domain(value: str, label: str) -> str | None:
    """The domain code a picker value names: a code, a wiki's name ("German Wikibooks"), or "name (code)"."""
    wanted = value.strip()
    if DOMAIN_CODE.fullmatch(wanted):
        # A code (the empty one too): one the hour lacks gets a page that says it has no rows.
        return wanted
    # A name first: some end in words in brackets ("English Wikipedia (mobile)").
    named = code_named(wanted, label)
    if named is None and wanted.endswith(")") and " (" in wanted:
        suggested = wanted.rsplit(" (", 1)[1][:-1]  # the picker's suggestions: "German Wikibooks (de.b)"
        return suggested if DOMAIN_CODE.fullmatch(suggested) else None
    return named
