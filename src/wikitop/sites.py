"""Domain codes of the pageview dumps: the site each names, its link, and titles as people read them.

The domain code is Wikimedia's abbreviation of the host (wikitech "Analytics/Data Lake/Traffic/
Pageviews"; the legacy codes: "Analytics/Archive/Data/Pagecounts-raw"), built as
`<subdomain>[.m][.<project suffix>]`: no suffix for Wikipedia, `b` wikibooks, `d` wiktionary,
`f` wikimediafoundation, `m` wikimedia, `n` wikinews, `q` wikiquote, `s` wikisource, `v` wikiversity,
`voy` wikivoyage, `w` mediawiki, `wd` wikidata; the `.m` before the suffix marks the mobile site. Sites
without a language use `www` (desktop) or `m` (mobile) as subdomain: `www.wd` is www.wikidata.org.

Decisions where the rules leave a choice:
- `xx.m` is either xx.wikimedia.org or the mobile Wikipedia xx.m.wikipedia.org. It is the wikimedia.org
  site when xx is one of the known non-language wikimedia.org wikis (commons, meta, species, incubator...,
  `sites_data.WIKIMEDIA_SITES`), else the mobile Wikipedia: a chapter wiki named like a language
  (ar.wikimedia.org) is thus read as that language's mobile Wikipedia, by far the likelier meaning.
  Their mobile forms (`commons.m.m`, `ar.m.m`) are unambiguous.
- `xx.mw` (pagecounts-raw: mobile Wikipedia) links to xx.m.wikipedia.org; `xx.zero` (Wikipedia Zero,
  retired in 2018, its hosts gone) links to the mobile Wikipedia too.
- A subdomain is accepted when it is a DNS label (lowercase letters, digits, inner hyphens), known or
  not: the host then follows the rule. Anything else (`en.x`, `EN`, `a.b.c.d`) has no host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from wikitop import namespaces
from wikitop.sites_data import (
    LANGUAGE_NAMES,
    LANGUAGELESS_NAMES,
    PROJECTS,
    SPECIAL_EDITIONS,
    WIKIMEDIA_SITES,
)

_LABEL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")  # an encoded newline or NUL would not be readable
# MediaWiki's wfUrlencode leaves these readable in /wiki/ paths; everything else is percent-encoded.
_PATH_SAFE = ";@$!*(),/~:"
# Browsers collapse "." and ".." path segments (even as %2E), so such titles go through index.php.
_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")
_VARIANT_NAMES = {"desktop": "", "mobile": " (mobile)", "zero": " (Wikipedia Zero)"}


@dataclass(frozen=True)
class Site:
    """What a domain code names: host (None when the code follows no known rule) and English name."""

    code: str
    host: str | None
    name: str
    language: str | None
    project: str | None
    mobile: bool


def site(code: str) -> Site:
    """Return the site a dump's domain code names; unknown codes give host None and their code as name."""
    return _site(code) if isinstance(code, str) else Site(str(code), None, str(code), None, None, False)


@lru_cache(maxsize=4096)
def _site(code: str) -> Site:
    return _parse(code) or Site(code, None, code, None, None, False)


def _parse(code: str) -> Site | None:
    """Apply the documented rules; None when the code fits none of them."""
    parts = code.split(".")
    if not all(_LABEL.fullmatch(part) for part in parts):
        return None
    subdomain, rest = parts[0], parts[1:]
    if not rest:
        return _project_site(code, subdomain, "", "desktop")
    if len(rest) == 1:
        (second,) = rest
        if second == "m" and (subdomain in WIKIMEDIA_SITES or subdomain in ("www", "m")):
            return _project_site(code, subdomain, "m", "desktop")
        if second in ("m", "mw"):
            return _project_site(code, subdomain, "", "mobile")
        if second == "zero":
            return _project_site(code, subdomain, "", "zero")
        return _project_site(code, subdomain, second, "desktop") if second in PROJECTS else None
    if len(rest) == 2 and rest[1] in PROJECTS and rest[1]:
        variant = {"m": "mobile", "zero": "zero"}.get(rest[0])
        return _project_site(code, subdomain, rest[1], variant) if variant else None
    return None


def _project_site(code: str, subdomain: str, suffix: str, variant: str) -> Site | None:
    """The site of `subdomain` in the project of `suffix`, desktop, mobile or Zero."""
    project = PROJECTS[suffix]
    if subdomain in ("www", "m"):
        return _languageless_site(code, subdomain, suffix) if variant == "desktop" else None
    mobile = variant != "desktop"
    marker = ".m" if mobile else ""
    label = _VARIANT_NAMES[variant]
    host = f"{subdomain}{marker}.{project.domain}"
    if project.project == "wikimedia":
        name = WIKIMEDIA_SITES.get(subdomain, f"{subdomain}.wikimedia.org")
        return Site(code, host, name + label, None, project.project, mobile)
    language = _language_of(subdomain)
    edition = SPECIAL_EDITIONS.get(subdomain) or LANGUAGE_NAMES.get(subdomain, subdomain)
    return Site(code, host, f"{edition} {project.name}{label}", language, project.project, mobile)


def _languageless_site(code: str, subdomain: str, suffix: str) -> Site:
    """A site without a language: `www.<domain>` on desktop, `m.<domain>` on mobile (`www.wd`, `m.wd`)."""
    project = PROJECTS[suffix]
    mobile = subdomain == "m"
    name = LANGUAGELESS_NAMES.get(project.project, project.name) + (
        _VARIANT_NAMES["mobile"] if mobile else ""
    )
    return Site(code, f"{subdomain}.{project.domain}", name, None, project.project, mobile)


def _language_of(subdomain: str) -> str | None:
    """The content language of a language edition: Simple English is English; test wikis have none."""
    if subdomain == "simple":
        return "en"
    return None if subdomain in SPECIAL_EDITIONS else subdomain


def all_sites() -> list[Site]:
    """The sites known by name (every Wikipedia, desktop and mobile, and the sites without a language)."""
    codes = [f"{language}{mobile}" for language in LANGUAGE_NAMES for mobile in ("", ".m")]
    codes += [f"{name}.m{mobile}" for name in WIKIMEDIA_SITES for mobile in ("", ".m")]
    codes += [f"{prefix}.{suffix}" for suffix in ("wd", "w", "s") for prefix in ("www", "m")]
    return sorted((site(code) for code in codes), key=lambda known: (known.name.casefold(), known.code))


def display_title(title: str) -> str:
    """Return a dump title as people read it: percent-decoded (UTF-8) and with spaces for underscores.

    Escapes that do not form UTF-8 stay as written (`%E9`), and so does a `%` that starts no escape.
    """
    decoded = _ESCAPES.sub(_decode_escapes, title)
    return _SURROGATES.sub("\ufffd", decoded).replace("_", " ")


def _decode_escapes(match: re.Match[str]) -> str:
    """Decode one run of %XX escapes; bytes that are not UTF-8, and control characters, stay as %XX."""
    text = unquote_to_bytes(match.group()).decode("utf-8", "surrogateescape")
    text = _SURROGATES.sub(lambda byte: f"%{ord(byte.group()) - 0xDC00:02X}", text)
    return _CONTROLS.sub(lambda char: f"%{ord(char.group()):02X}", text)


def title_bytes(title: str) -> bytes:
    """Return the title MediaWiki sees: percent-decoded bytes, spaces as underscores."""
    return unquote_to_bytes(title.encode("utf-8", "surrogatepass")).replace(b" ", b"_")


def article_url(code: str, title: str) -> str | None:
    """Return https://<host>/wiki/<title>, quoted so that the link opens that page; None without a host.

    A title with a `.`/`..` path segment links as /w/index.php?title=..., which browsers leave alone.
    """
    host = site(code).host
    if host is None:
        return None
    raw = title_bytes(title)
    if _DOT_SEGMENT.search(raw.decode("utf-8", "replace")):
        return f"https://{host}/w/index.php?title={quote(raw, safe='')}"
    return f"https://{host}/wiki/{quote(raw, safe=_PATH_SAFE)}"


def hidden_reason(code: str, title: str) -> str | None:
    """Return why the "Articles only" view hides a row (main page, namespace, no title), or None."""
    if title in ("-", ""):
        return "'-' (no title)"
    known = site(code)
    return namespaces.hidden_reason(known.language, known.project, display_title(title))
