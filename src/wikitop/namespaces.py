"""Which titles the "Articles only" view hides: main pages and the pages of non-article namespaces.

Titles are matched as MediaWiki reads them: a namespace prefix is the text before the first colon,
compared without regard to case (MediaWiki lowercases both sides) and with underscores, spaces and
their runs alike; a leading colon (":Category:X") still names the namespace page. Main pages compare
with MediaWiki's first-letter capitalisation, so `main_Page` is the Main Page but `Main_page` is not.
"""

from __future__ import annotations

import re

from wikitop.namespaces_data import CANONICAL, LANGUAGES, MAIN_PAGES, MORE_LANGUAGES

_SPACES = re.compile(r"[\s_]+")
UNIVERSAL_MAIN_PAGE = "Main_Page"  # MediaWiki's default, on every English-named wiki and as a redirect


def _key(name: str) -> str:
    """A namespace name as MediaWiki compares it: spaces for underscores, trimmed, lowercase."""
    return _SPACES.sub(" ", name).strip().lower()


def _parse(block: str) -> dict[str, str]:
    """Read `Canonical: local_name alias ...` lines into {key of each name: canonical}."""
    names: dict[str, str] = {}
    for line in block.strip().splitlines():
        canonical, _, locals_ = line.partition(":")
        for name in locals_.split():
            names[_key(name)] = canonical
    return names


_MORE_COLUMNS = ("Special", "Talk", "User", "User talk", "File", "Category")


def _parse_more(text: str) -> dict[str, str]:
    """Read `code: Special | Talk | User | User talk | File | Category` lines into `Canonical: names` blocks."""
    blocks: dict[str, str] = {}
    for line in text.strip().splitlines():
        language, _, fields = line.partition(": ")
        columns = zip(_MORE_COLUMNS, fields.split("|"), strict=True)
        blocks[language] = "\n".join(
            f"{canonical}: {names.strip()}" for canonical, names in columns if names.strip()
        )
    return blocks


_CANONICAL = _parse(CANONICAL)
_BLOCKS = _parse_more(MORE_LANGUAGES) | LANGUAGES
_BY_LANGUAGE = {language: _CANONICAL | _parse(block) for language, block in _BLOCKS.items()}


def shipped_languages() -> list[str]:
    """The languages whose local namespace names are known (beyond the English ones)."""
    return sorted(_BLOCKS)


def language_block(language: str) -> str:
    """The `Canonical: names` lines shipped for a language (empty when none)."""
    return _BLOCKS.get(language, "")


def namespace_of(language: str | None, title: str) -> str | None:
    """Return the canonical English name of the title's namespace, or None for the main namespace."""
    prefix, colon, _ = _strip_leading_colon(title).partition(":")
    if not colon:
        return None
    return _BY_LANGUAGE.get(language or "", _CANONICAL).get(_key(prefix))


def is_main_page(language: str | None, project: str | None, title: str) -> bool:
    """True for the wiki's main page (known for the shipped Wikipedias) and for `Main_Page` anywhere."""
    wanted = {_title_key(UNIVERSAL_MAIN_PAGE)}
    if project == "wikipedia" and language in MAIN_PAGES:
        wanted.add(_title_key(MAIN_PAGES[language]))
    return _title_key(title) in wanted


def hidden_reason(language: str | None, project: str | None, title: str) -> str | None:
    """Return why the view hides this title ("main page", "Talk namespace"...), or None for an article."""
    if is_main_page(language, project, title):
        return "main page"
    namespace = namespace_of(language, title)
    if namespace is None:
        return None
    return "Special: page" if namespace == "Special" else f"{namespace} namespace"


def _strip_leading_colon(title: str) -> str:
    stripped = title.lstrip(" _")
    return stripped[1:] if stripped.startswith(":") else stripped


def _title_key(title: str) -> str:
    """A title as MediaWiki stores it on a wiki with capital links: namespace lowercase, first letter up."""
    text = _SPACES.sub(" ", _strip_leading_colon(title)).strip()
    prefix, colon, rest = text.partition(":")
    if colon:
        rest = rest.strip()
        return f"{_key(prefix)}:{rest[:1].upper()}{rest[1:]}"
    return f"{text[:1].upper()}{text[1:]}"
