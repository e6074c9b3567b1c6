"""The dashboard's query and its JSON body as Pydantic models: one parse for the pages and the API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from wikitop.state import TaskState
from wikitop.trends import Comparison, HourTrends, TrendRow, View

DEFAULT_DOMAIN = "en"


class RowFilter(StrEnum):
    """Which rows an hour page keeps: articles only (the default), or every stored row."""

    ARTICLES = "articles"
    NONE = "none"


class TrendsQuery(BaseModel):
    """One hour page's choices: the domain code, the filter and the view (the permalink's query)."""

    # Query strings carry text only; an unknown parameter is an error, as everywhere in the API.
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(DEFAULT_DOMAIN, max_length=64, description="one domain code, e.g. en, en.m, de.b")
    filter: RowFilter = Field(
        RowFilter.ARTICLES,
        description="`articles`: hide the Main Page, Special: and other non-article pages; `none`: every row",
    )
    view: View = Field(View.ALL, description="`all` rows, or `rising`: the pages new in the top N this hour")

    @property
    def articles_only(self) -> bool:
        """Whether the articles-only filter is on."""
        return self.filter is RowFilter.ARTICLES

    def link_args(self, **changes: str) -> dict[str, str]:
        """Every choice as query arguments, with `changes` applied: a permalink holds them all."""
        return {"domain": self.domain, "filter": self.filter.value, "view": self.view.value} | changes


class TrendsOut(BaseModel):
    """One hour of one domain code as the dashboard shows it, with the filter and the view applied."""

    hour: str = Field(description="Wikimedia's label of the hour (YYYYMMDDHH): the END of the period")
    period: str = Field(description='the period covered, in words: "14:00-15:00 UTC, 1 Jan 2020"')
    computed_at: datetime | None = Field(description="when the stored result was computed (UTC)")
    domain: str
    site_name: str | None = Field(description="the wiki's name, e.g. German Wikibooks; null if unknown")
    filter: RowFilter
    view: View
    top_n: int = Field(description="how many pages per domain code the results keep (N)")
    previous_hour: Comparison
    day_before: Comparison
    hidden_count: int = Field(description="rows hidden by the articles-only filter")
    hidden: dict[str, int] = Field(description="the hidden rows by reason")
    rows: list[TrendRow] = Field(description="rank: the stored rank among all pages of the domain code")


def trends_out(
    trends: HourTrends, state: TaskState, query: TrendsQuery, period: str, site_name: str | None
) -> TrendsOut:
    """Turn an hour's trends into the JSON body."""
    return TrendsOut(
        hour=trends.hour,
        period=period,
        computed_at=state.finished_at,
        domain=trends.domain,
        site_name=site_name,
        filter=query.filter,
        view=trends.view,
        top_n=trends.top_n,
        previous_hour=trends.previous_hour,
        day_before=trends.day_before,
        hidden_count=trends.hidden_count,
        hidden=trends.hidden,
        rows=trends.rows,
    )


class SiteOut(BaseModel):
    """One wiki: its domain code in the dumps, its host and its name."""

    code: str = Field(description="the domain code of the dumps, e.g. de.b")
    host: str | None = Field(description="e.g. de.wikibooks.org")
    name: str = Field(description="e.g. German Wikibooks")


class SitesOut(BaseModel):
    """Every wiki wikitop knows the domain codes of."""

    items: list[SiteOut]
