"""Domain codes -> sites and links, titles as people read them, and the "Articles only" filter.

The expected rows are written by hand from Wikimedia's documentation (wikitech "Analytics/Data Lake/
Traffic/Pageviews" and "Analytics/Archive/Data/Pagecounts-raw") and from the wikis themselves, never
produced by the code under test.
"""

from __future__ import annotations

import gzip
import http.client
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wikitop.namespaces import language_block, shipped_languages
from wikitop.sites import Site, all_sites, article_url, display_title, hidden_reason, site
from wikitop.sites_data import LANGUAGE_NAMES

SHARED_DATA = Path(
    os.environ.get("WIKITOP_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)

# code, host, name, language, project, mobile
DOCUMENTED = [
    ("en", "en.wikipedia.org", "English Wikipedia", "en", "wikipedia", False),
    ("en.m", "en.m.wikipedia.org", "English Wikipedia (mobile)", "en", "wikipedia", True),
    ("de.b", "de.wikibooks.org", "German Wikibooks", "de", "wikibooks", False),
    ("de.m.b", "de.m.wikibooks.org", "German Wikibooks (mobile)", "de", "wikibooks", True),
    ("fr.d", "fr.wiktionary.org", "French Wiktionary", "fr", "wiktionary", False),
    ("en.m.d", "en.m.wiktionary.org", "English Wiktionary (mobile)", "en", "wiktionary", True),
    ("es.n", "es.wikinews.org", "Spanish Wikinews", "es", "wikinews", False),
    ("it.q", "it.wikiquote.org", "Italian Wikiquote", "it", "wikiquote", False),
    ("pl.m.s", "pl.m.wikisource.org", "Polish Wikisource (mobile)", "pl", "wikisource", True),
    ("ru.v", "ru.wikiversity.org", "Russian Wikiversity", "ru", "wikiversity", False),
    ("de.voy", "de.wikivoyage.org", "German Wikivoyage", "de", "wikivoyage", False),
    ("en.m.voy", "en.m.wikivoyage.org", "English Wikivoyage (mobile)", "en", "wikivoyage", True),
    ("commons.m", "commons.wikimedia.org", "Wikimedia Commons", None, "wikimedia", False),
    ("commons.m.m", "commons.m.wikimedia.org", "Wikimedia Commons (mobile)", None, "wikimedia", True),
    ("meta.m", "meta.wikimedia.org", "Meta-Wiki", None, "wikimedia", False),
    ("species.m", "species.wikimedia.org", "Wikispecies", None, "wikimedia", False),
    ("incubator.m.m", "incubator.m.wikimedia.org", "Wikimedia Incubator (mobile)", None, "wikimedia", True),
    ("www.wd", "www.wikidata.org", "Wikidata", None, "wikidata", False),
    ("m.wd", "m.wikidata.org", "Wikidata (mobile)", None, "wikidata", True),
    ("www.w", "www.mediawiki.org", "MediaWiki.org", None, "mediawiki", False),
    ("m.w", "m.mediawiki.org", "MediaWiki.org (mobile)", None, "mediawiki", True),
    ("www.s", "www.wikisource.org", "Multilingual Wikisource", None, "wikisource", False),
    ("m.f", "m.wikimediafoundation.org", "Wikimedia Foundation (mobile)", None, "wikimediafoundation", True),
    ("www.m", "www.wikimedia.org", "Wikimedia portal", None, "wikimedia", False),
    ("m.m", "m.wikimedia.org", "Wikimedia portal (mobile)", None, "wikimedia", True),
    ("beta.v", "beta.wikiversity.org", "Beta Wikiversity", None, "wikiversity", False),
    ("simple", "simple.wikipedia.org", "Simple English Wikipedia", "en", "wikipedia", False),
    (
        "zh-min-nan.d",
        "zh-min-nan.wiktionary.org",
        "Min Nan Chinese Wiktionary",
        "zh-min-nan",
        "wiktionary",
        False,
    ),
    (
        "be-x-old",
        "be-x-old.wikipedia.org",
        "Belarusian (Taraškievica) Wikipedia",
        "be-x-old",
        "wikipedia",
        False,
    ),
    # pagecounts-raw: `.mw` counted the mobile Wikipedia; Wikipedia Zero's hosts are gone: mobile site.
    ("lt.mw", "lt.m.wikipedia.org", "Lithuanian Wikipedia (mobile)", "lt", "wikipedia", True),
    ("en.zero", "en.m.wikipedia.org", "English Wikipedia (Wikipedia Zero)", "en", "wikipedia", True),
]

# `xx.m`: a known wikimedia.org wiki, else the mobile Wikipedia (a chapter wiki named like a language loses).
AMBIGUOUS = [
    ("commons.m", "commons.wikimedia.org"),
    ("outreach.m", "outreach.wikimedia.org"),
    ("strategy.m", "strategy.wikimedia.org"),
    ("ar.m", "ar.m.wikipedia.org"),
    ("nl.m", "nl.m.wikipedia.org"),
    ("ar.m.m", "ar.m.wikimedia.org"),
    ("xyz.m", "xyz.m.wikipedia.org"),
]

UNKNOWN = [
    "",
    "EN",
    "en.x",
    "en..m",
    ".m",
    "en.m.",
    "a.b.c.d",
    "m.m.wd",
    "de.m.m.b",
    "en wiki",
    "en.m.mw",
    "-",
]


@pytest.mark.parametrize(("code", "host", "name", "language", "project", "mobile"), DOCUMENTED)
def test_documented_domain_codes(
    code: str, host: str, name: str, language: str | None, project: str, mobile: bool
) -> None:
    assert site(code) == Site(code, host, name, language, project, mobile)


@pytest.mark.parametrize(("code", "host"), AMBIGUOUS)
def test_ambiguous_m_suffix(code: str, host: str) -> None:
    assert site(code).host == host


@pytest.mark.parametrize("code", UNKNOWN)
def test_codes_outside_the_rules_have_no_host(code: str) -> None:
    assert site(code) == Site(code, None, code, None, None, False)
    assert article_url(code, "Foo") is None


def _real_domain_codes() -> set[str]:
    """Every domain code in the real dump excerpts and the real blacklist."""
    samples = SHARED_DATA / "samples"
    texts = [
        (samples / "nmy_pageviews-sample.txt").read_bytes(),
        (samples / "liocharity_pageviews-20210101-020000_head20.txt").read_bytes(),
        gzip.decompress((samples / "mycaule_pageviews-20200601-010000_tail1000.gz").read_bytes()),
        gzip.decompress((samples / "mflood_sample_pageviews_flood_grep.txt.gz").read_bytes()),
        (SHARED_DATA / "blacklist_domains_and_pages").read_bytes(),
    ]
    return {line.split(b" ", 1)[0].decode() for text in texts for line in text.splitlines() if line.strip()}


# Codes of the real excerpts that knowingly follow no rule (none so far: every one maps to a host).
KNOWINGLY_UNKNOWN: set[str] = set()


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real dump excerpts not found at {SHARED_DATA}")
def test_every_real_domain_code_maps_to_a_host_and_a_language_name() -> None:
    codes = _real_domain_codes()
    assert len(codes) > 700  # the blacklist alone has 756 domain codes
    assert {code for code in codes if site(code).host is None} == KNOWINGLY_UNKNOWN
    unnamed = {code for code in codes if site(code).language and site(code).language not in LANGUAGE_NAMES}
    assert unnamed == set(), "every language edition seen in real dumps has an English name"


def test_language_table_covers_the_wikipedias() -> None:
    assert len(LANGUAGE_NAMES) >= 330
    for code, name in [
        ("de", "German"),
        ("zh-yue", "Cantonese"),
        ("als", "Alemannic"),
        ("nds-nl", "Low Saxon"),
    ]:
        assert LANGUAGE_NAMES[code] == name


def test_all_sites_lists_named_sites_the_picker_can_find() -> None:
    sites = all_sites()
    names = {known.name: known.code for known in sites}
    assert names["German Wikipedia"] == "de"
    assert names["English Wikipedia (mobile)"] == "en.m"
    assert names["Wikimedia Commons"] == "commons.m"
    assert names["Wikidata"] == "www.wd"
    assert all(known.host for known in sites)
    assert [known.name.casefold() for known in sites] == sorted(known.name.casefold() for known in sites)


DISPLAY = [
    ("Main_Page", "Main Page"),
    ("Caf%C3%A9_au_lait", "Café au lait"),
    ("caf%c3%a9", "café"),
    ("Stra%C3%9Fe", "Straße"),
    ("%E6%97%A5%E6%9C%AC", "日本"),
    ("日本_語", "日本 語"),
    ("a%5Fb%20c", "a b c"),
    ("100%25", "100%"),
    ("100%_sure", "100% sure"),  # a % that starts no escape stays
    ("%ZZ", "%ZZ"),
    ("%", "%"),
    ("%E9t%E9", "%E9t%E9"),  # Latin-1 bytes: not UTF-8, kept as written
    ("%C3%A9%E9", "é%E9"),
    ("%C3", "%C3"),  # a cut UTF-8 sequence
    ("AC/DC", "AC/DC"),
    ("a%0Ab%00", "a%0Ab%00"),  # encoded control characters stay visible
    ("\ud800x", "\ufffdx"),  # a lone surrogate would break any encoder downstream
]


@pytest.mark.parametrize(("title", "shown"), DISPLAY)
def test_display_title(title: str, shown: str) -> None:
    assert display_title(title) == shown


URLS = [
    ("en", "Main_Page", "https://en.wikipedia.org/wiki/Main_Page"),
    ("en", "AC/DC", "https://en.wikipedia.org/wiki/AC/DC"),
    (
        "en",
        "Who_Wants_to_Be_a_Millionaire?",
        "https://en.wikipedia.org/wiki/Who_Wants_to_Be_a_Millionaire%3F",
    ),
    ("en", "C#", "https://en.wikipedia.org/wiki/C%23"),
    ("en", "100%25_(song)", "https://en.wikipedia.org/wiki/100%25_(song)"),
    ("en", "Rock_&_roll", "https://en.wikipedia.org/wiki/Rock_%26_roll"),
    ("en", "A+B=C", "https://en.wikipedia.org/wiki/A%2BB%3DC"),
    ("en.m", "New York City", "https://en.m.wikipedia.org/wiki/New_York_City"),
    ("de", "Caf%C3%A9", "https://de.wikipedia.org/wiki/Caf%C3%A9"),
    ("ja", "日本", "https://ja.wikipedia.org/wiki/%E6%97%A5%E6%9C%AC"),
    ("de.b", "Mathematik:_Analysis", "https://de.wikibooks.org/wiki/Mathematik:_Analysis"),
    ("commons.m", "File:Example.jpg", "https://commons.wikimedia.org/wiki/File:Example.jpg"),
    ("www.wd", "Q42", "https://www.wikidata.org/wiki/Q42"),
    ("fr", "%E9t%E9", "https://fr.wikipedia.org/wiki/%E9t%E9"),  # the bytes requested, unchanged
    ("en", "../etc", "https://en.wikipedia.org/w/index.php?title=..%2Fetc"),  # no dot segment to collapse
]


@pytest.mark.parametrize(("code", "title", "url"), URLS)
def test_article_url(code: str, title: str, url: str) -> None:
    assert article_url(code, title) == url


class _PathRecorder(BaseHTTPRequestHandler):
    """Answers every GET with 200 and remembers the request target, as a wiki's web server sees it."""

    targets: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.targets.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def server_address() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PathRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorder(server_address: str) -> tuple[str, list[str]]:
    _PathRecorder.targets.clear()
    return server_address, _PathRecorder.targets


TRICKY_TITLES = [
    "What?_#1",
    "100%25_pure",
    "100%_pure",
    "AC/DC",
    "Caf%C3%A9",
    "東京",
    "a&b=c+d",
    "x;y@z$!*(),~:",
]


@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_the_link_reaches_the_server_as_that_title(recorder: tuple[str, list[str]], title: str) -> None:
    """A real HTTP request to the link's path: the server decodes exactly the title MediaWiki would see."""
    address, targets = recorder
    url = article_url("en", title)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("https", "en.wikipedia.org", "", "")
    connection = http.client.HTTPConnection(address, timeout=5)
    connection.request("GET", parts.path)
    assert connection.getresponse().status == 200
    connection.close()
    (target,) = targets
    expected = unquote_to_bytes(title).replace(b" ", b"_")
    assert unquote_to_bytes(target.removeprefix("/wiki/")) == expected


# Hand-written samples of each shipped wiki: (code, title, reason). `None` = an article.
HIDDEN = [
    ("en", "-", "'-' (no title)"),
    ("en", "Main_Page", "main page"),
    ("en.m", "Main_Page", "main page"),
    ("en", "main_Page", "main page"),
    ("en", "Main_page", None),  # another title (a redirect on the wiki): not the main page itself
    ("en", "Special:Search", "Special: page"),
    ("en", "special:search", "Special: page"),
    ("en", "Special%3ASearch", "Special: page"),
    ("en", "Talk:Albert_Einstein", "Talk namespace"),
    ("en", "User_talk:Jimbo_Wales", "User talk namespace"),
    ("en", "User%20talk:Jimbo_Wales", "User talk namespace"),
    ("en", "Wikipedia:About", "Project namespace"),
    ("en", "WP:NPOV", "Project namespace"),
    ("en", "File:Example.jpg", "File namespace"),
    ("en", "Image:Example.jpg", "File namespace"),
    ("en", "Template:Cite_web", "Template namespace"),
    ("en", "Category:Living_people", "Category namespace"),
    ("en", "Portal:Current_events", "Portal namespace"),
    ("en", "Draft:Foo", "Draft namespace"),
    ("en", "Module:Citation", "Module namespace"),
    ("en", "Help:Contents", "Help namespace"),
    ("en", ":Category:Foo", "Category namespace"),
    ("en", "Media:Example.ogg", "Media namespace"),
    ("en", "Star_Wars:_Episode_IV_–_A_New_Hope", None),
    ("en", "Mission:_Impossible", None),
    ("en", "Re:Zero_−_Starting_Life_in_Another_World", None),
    ("en", "Albert_Einstein", None),
    ("de", "Wikipedia:Hauptseite", "main page"),
    ("de.m", "Wikipedia:Hauptseite", "main page"),
    ("de", "Spezial:Suche", "Special: page"),
    ("de", "Benutzer_Diskussion:Foo", "User talk namespace"),
    ("de", "Benutzerin:Foo", "User namespace"),
    ("de", "Datei:Foo.jpg", "File namespace"),
    ("de", "Vorlage:Infobox", "Template namespace"),
    ("de", "Kategorie:Mann", "Category namespace"),
    ("de", "Portal:Fußball", "Portal namespace"),
    ("de", "P:Fußball", "Portal namespace"),  # dewiki's short alias
    ("de", "BD:Foo", "User talk namespace"),
    ("de", "Berlin", None),
    ("fr", "Wikipédia:Accueil_principal", "main page"),
    ("fr", "Sp%C3%A9cial:Recherche", "Special: page"),
    ("fr", "Discussion_utilisateur:Foo", "User talk namespace"),
    ("fr", "Fichier:Foo.png", "File namespace"),
    ("fr", "Modèle:Infobox", "Template namespace"),
    ("fr", "Portail:Football", "Portal namespace"),
    ("fr", "Projet:Football", "WikiProject namespace"),
    ("fr", "Paris", None),
    ("es", "Wikipedia:Portada", "main page"),
    ("es", "Especial:Buscar", "Special: page"),
    ("es", "Usuario_discusión:Foo", "User talk namespace"),
    ("es", "Archivo:Foo.jpg", "File namespace"),
    ("es", "Plantilla:Ficha", "Template namespace"),
    ("es", "Madrid", None),
    ("ja", "メインページ", "main page"),
    ("ja", "特別:検索", "Special: page"),
    ("ja", "利用者‐会話:Foo", "User talk namespace"),
    ("ja", "ノート:東京", "Talk namespace"),
    ("ja", "Wikipedia:井戸端", "Project namespace"),
    ("ja", "東京", None),
    ("ru", "Заглавная_страница", "main page"),
    (
        "ru.m",
        "%D0%97%D0%B0%D0%B3%D0%BB%D0%B0%D0%B2%D0%BD%D0%B0%D1%8F_%D1%81%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0",
        "main page",
    ),
    ("ru", "Служебная:Поиск", "Special: page"),
    ("ru", "Обсуждение_участника:Foo", "User talk namespace"),
    ("ru", "Файл:Foo.jpg", "File namespace"),
    ("ru", "Шаблон:Карточка", "Template namespace"),
    ("ru", "ВП:Правила", "Project namespace"),
    ("ru", "Арбитраж:Заявка", "Arbitration namespace"),
    ("ru", "Москва", None),
    ("it", "Pagina_principale", "main page"),
    ("it", "Speciale:Ricerca", "Special: page"),
    ("it", "Discussioni_utente:Foo", "User talk namespace"),
    ("it", "Bozza:Foo", "Draft namespace"),
    ("it", "Roma", None),
    ("zh", "Wikipedia:首页", "main page"),
    ("zh", "Special:搜索", "Special: page"),
    ("zh", "Category:中国", "Category namespace"),
    ("zh", "分类:中国", "Category namespace"),
    ("zh", "Draft:北京", "Draft namespace"),
    ("zh", "专题:历史", "WikiProject namespace"),
    ("zh", "北京市", None),
    ("pt", "Wikipédia:Página_principal", "main page"),
    ("pt", "Especial:Pesquisar", "Special: page"),
    ("pt", "Usuário(a):Foo", "User namespace"),
    ("pt", "Predefinição:Info", "Template namespace"),
    ("pt", "Lisboa", None),
    ("pl", "Wikipedia:Strona_główna", "main page"),
    ("pl", "Specjalna:Szukaj", "Special: page"),
    ("pl", "Dyskusja_wikipedysty:Foo", "User talk namespace"),
    ("pl", "Plik:Foo.jpg", "File namespace"),
    ("pl", "Warszawa", None),
    ("nl", "Hoofdpagina", "main page"),
    ("nl", "Speciaal:Zoeken", "Special: page"),
    ("nl", "Overleg_gebruiker:Foo", "User talk namespace"),
    ("nl", "Sjabloon:Infobox", "Template namespace"),
    ("nl", "Amsterdam", None),
    ("ar", "الصفحة_الرئيسية", "main page"),
    ("ar", "خاص:بحث", "Special: page"),
    ("ar", "تصنيف:مصر", "Category namespace"),
    ("ar", "مصر", None),
    ("fa", "صفحهٔ_اصلی", "main page"),
    ("fa", "ویژه:جستجو", "Special: page"),
    ("fa", "رده:ایران", "Category namespace"),
    ("fa", "ایران", None),
    ("uk", "Головна_сторінка", "main page"),
    ("uk", "Спеціальна:Пошук", "Special: page"),
    ("uk", "Обговорення_користувача:Foo", "User talk namespace"),
    ("uk", "Київ", None),
    ("sv", "Portal:Huvudsida", "main page"),
    ("sv", "Special:Sök", "Special: page"),
    ("sv", "Användardiskussion:Foo", "User talk namespace"),
    ("sv", "Mall:Faktamall", "Template namespace"),
    ("sv", "Stockholm", None),
    ("id", "Halaman_Utama", "main page"),
    ("id", "Istimewa:Pencarian", "Special: page"),
    ("id", "Pembicaraan_Pengguna:Foo", "User talk namespace"),
    ("id", "Jakarta", None),
    ("vi", "Trang_Chính", "main page"),
    ("vi", "Đặc_biệt:Tìm_kiếm", "Special: page"),
    ("vi", "Thể_loại:Việt_Nam", "Category namespace"),
    ("vi", "Hà_Nội", None),
    ("ko", "위키백과:대문", "main page"),
    ("ko", "특수:검색", "Special: page"),
    ("ko", "사용자토론:Foo", "User talk namespace"),
    ("ko", "서울특별시", None),
    ("he", "עמוד_ראשי", "main page"),
    ("he", "מיוחד:חיפוש", "Special: page"),
    ("he", "שיחת_משתמש:Foo", "User talk namespace"),
    ("he", "טיוטה:Foo", "Draft namespace"),
    ("he", "ירושלים", None),
    ("tr", "Anasayfa", "main page"),
    ("tr", "Özel:Ara", "Special: page"),
    ("tr", "Kullanıcı_mesaj:Foo", "User talk namespace"),
    ("tr", "Vikiproje:Tarih", "WikiProject namespace"),
    ("tr", "İstanbul", None),
    ("cs", "Hlavní_strana", "main page"),
    ("cs", "Speciální:Hledat", "Special: page"),
    ("cs", "Diskuse_s_wikipedistou:Foo", "User talk namespace"),
    ("cs", "Praha", None),
    # More languages: Special, Talk, User, User talk, File and Category (the real excerpts have these).
    ("fi", "Toiminnot:Haku", "Special: page"),
    ("fi.m", "Keskustelu_käyttäjästä:Foo", "User talk namespace"),
    ("fi", "Luokka:Suomi", "Category namespace"),
    ("fi", "Helsinki", None),
    ("no", "Fil:Kisko.sijainti.suomi.2008.svg", "File namespace"),
    ("af", "L%C3%AAer:Cc-sa_white.svg", "File namespace"),
    ("hu", "Speciális:Keresés", "Special: page"),
    ("ro", "Discuţie:Bucureşti", "Talk namespace"),
    ("ro", "Discuție:București", "Talk namespace"),
    ("bs", "Datoteka:Grb.svg", "File namespace"),
    ("mg.m.d", "Manokana:MobileLanguages/Romeos", "Special: page"),
    ("ceb", "Espesyal:WhatLinksHere/Cercopithecus_preussi", "Special: page"),
    # Wikis without a shipped table still know the English names and Main_Page.
    ("commons.m", "Main_Page", "main page"),
    ("commons.m", "Special:UploadWizard", "Special: page"),
    ("www.wd", "Q42", None),
    ("xx", "Talk:Foo", "Talk namespace"),
    ("en.x", "Special:Search", "Special: page"),
]


@pytest.mark.parametrize(("code", "title", "reason"), HIDDEN)
def test_hidden_reason(code: str, title: str, reason: str | None) -> None:
    assert hidden_reason(code, title) == reason


def test_twenty_largest_wikipedias_are_shipped() -> None:
    assert len(shipped_languages()) >= 140
    largest = [
        "en",
        "de",
        "fr",
        "es",
        "ja",
        "ru",
        "it",
        "zh",
        "pt",
        "pl",
        "nl",
        "ar",
        "fa",
        "uk",
        "sv",
        "id",
        "vi",
        "ko",
        "he",
        "tr",
        "cs",
    ]
    assert set(largest) <= set(shipped_languages())
    assert {code for code, _, reason in HIDDEN if reason == "main page"} >= set(largest)


@pytest.mark.parametrize("language", shipped_languages())
def test_every_shipped_name_hides_its_pages_on_desktop_and_mobile(language: str) -> None:
    """Each listed name, written as titles come (underscores, spaces, encoded, first letter lowercase)."""
    for line in language_block(language).strip().splitlines():
        canonical, _, names = line.partition(":")
        for name in names.split():
            for written in (
                name,
                name.replace("_", " "),
                name.replace("_", "%20"),
                name[0].lower() + name[1:],
            ):
                for code in (language, f"{language}.m"):
                    reason = hidden_reason(code, f"{written}:Some_page")
                    assert reason in (f"{canonical} namespace", "Special: page"), (code, written)


@given(st.text())
def test_site_never_raises(code: str) -> None:
    known = site(code)
    assert known.code == code
    assert (known.host is None) == (known.project is None)


@given(st.text(), st.text())
def test_titles_never_raise(code: str, title: str) -> None:
    display_title(title).encode("utf-8")  # always encodable: no lone surrogate survives
    article_url(code, title)
    hidden_reason(code, title)
