"""An hour's stored top pages as their readers get them: when an hour has a result, and one domain's rows.

The API (`/top`, the CSV downloads) and `wikitop top` read results through here, so that both
agree on when an hour has one: its task succeeded and its file is in the results storage.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from wikitop.errors import UsageError, WikitopError
from wikitop.hours import parse_hour
from wikitop.results import check_result_file
from wikitop.state import TaskState

if TYPE_CHECKING:
    from wikitop.ranking import RankedPage
    from wikitop.results import ResultStore

Parsed = TypeVar("Parsed")
# Close domain codes suggested for a mistyped one: `en.n` -> en.m, en.b, en.q...
SUGGESTED_CODES = 5


class ResultNotReadyError(WikitopError):
    """The hour has a task but no stored result (not computed yet, failed, or the file is gone)."""

    def __init__(self, message: str, state: TaskState) -> None:
        super().__init__(message)
        self.state = state

    @property
    def file_missing(self) -> bool:
        """True when the task has a result but its file is gone: only a recompute brings it back."""
        return self.state.has_result


def read_result(state: TaskState, results: ResultStore) -> bytes:
    """Return the stored result file of the hour of `state`; ResultNotReadyError when it has none.

    An hour being recomputed, or whose recompute failed a try, still has its last good result.
    """
    if not state.has_result:
        raise ResultNotReadyError(
            f"hour {state.hour} has no result: its status is {state.status.value}"
            + (f" ({state.error})" if state.error else ""),
            state,
        )
    try:
        data = results.read(parse_hour(state.hour))
    except (FileNotFoundError, IsADirectoryError):
        raise ResultNotReadyError(
            f"hour {state.hour} has a recorded result but its file is missing", state
        ) from None
    parse_result(state, data, check_result_file)
    return data


def parse_result(state: TaskState, data: bytes, parse: Callable[[bytes], Parsed]) -> Parsed:
    """Parse the hour's result file with `parse`; a damaged file is ResultNotReadyError saying so.

    A file overwritten by hand or by another tool, or cut short: only a recompute brings the result
    back, and a reader says so rather than crash (the CLI's traceback, the API's 500).
    """
    try:
        return parse(data)
    except ValueError as exc:  # UnicodeDecodeError too; a row without its four fields, a bad number
        message = f"hour {state.hour} has a recorded result but its file is damaged ({exc})"
        raise ResultNotReadyError(message, state) from None


def domain_pages(pages: list[RankedPage], domain: str, limit: int, hour: str) -> list[RankedPage]:
    """The hour's pages of one domain code, ranks 1..limit; a UsageError suggests codes if it has none."""
    # Ranks run 1..N within each domain code, so a rank bound is a per-domain limit.
    chosen = [page for page in pages if page.domain_code == domain and page.rank <= limit]
    if chosen:
        return chosen
    codes = sorted({page.domain_code for page in pages})
    close = difflib.get_close_matches(domain.lower(), codes, n=SUGGESTED_CODES, cutoff=0.5)
    if close:
        hint = f"did you mean {', '.join(close)}?"
    else:
        hint = (
            f"none of its {len(codes):,} domain codes is close" if codes else "the hour has no pages at all"
        )
    raise UsageError(f"domain code {domain!r} has no pages in hour {hour} ({hint})")
