"""Read the ranking table of a dashboard page from its HTML, as a person reads the cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Cell:
    """One table cell: its text, its class, the link in it and the classes of what it holds."""

    text: str = ""
    css: str = ""
    href: str | None = None
    inner_classes: list[str] = field(default_factory=list)


class _RankingParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Cell]] = []
        self._in_table = False
        self._in_body = False
        self._cell: Cell | None = None
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "table" and values.get("id") == "ranking":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({})
        elif self._in_body and tag in ("td", "th"):
            self._cell = Cell(css=values.get("class", ""))
            self.rows[-1][self._cell.css.split()[-1]] = self._cell
        elif self._cell is not None:
            if tag == "a":
                self._cell.href = values.get("href")
            if "class" in values:
                self._cell.inner_classes.append(values["class"])
            if self._hidden_depth or values.get("aria-hidden") == "true":
                self._hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_table = False
        elif self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        # The text a screen reader reads: aria-hidden arrows left out, the visually hidden words kept.
        if self._cell is not None and not self._hidden_depth:
            self._cell.text += data


def ranking_rows(html: str) -> list[dict[str, Cell]]:
    """The rows of the page's #ranking table, each cell keyed by its last CSS class (rank, title, ...)."""
    parser = _RankingParser()
    parser.feed(html)
    for row in parser.rows:
        for cell in row.values():
            cell.text = " ".join(cell.text.split())
    return parser.rows
