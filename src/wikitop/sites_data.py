"""The tables behind `wikitop.sites`: project suffixes, wikimedia.org sites and language names in English.

Sources (transcribed as data, no code taken):
- project suffixes: Wikimedia's pageview dump documentation (wikitech "Analytics/Data Lake/Traffic/
  Pageviews", and "Analytics/Archive/Data/Pagecounts-raw" for the legacy `.mw`), checked against the
  query that writes the dumps (analytics-refinery, the `CASE ... WHEN 'wikibooks' THEN '.b'` of the
  pageview archive job);
- wikimedia.org sites: the hosts of Wikimedia's site matrix (meta.wikimedia.org/wiki/Special:SiteMatrix);
- language names: the English names of the Wikipedia language editions as listed on
  meta.wikimedia.org/wiki/List_of_Wikipedias (ISO 639 codes, plus Wikimedia's historical subdomains
  such as `zh-min-nan`, `bat-smg`, `be-x-old`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Project:
    """One project suffix of the domain code: its project key, registered domain and English name."""

    project: str
    domain: str
    name: str


# Suffix -> project. `mw` is the legacy pagecounts-raw code for "Wikipedia, mobile" (`en.mw`).
PROJECTS: dict[str, Project] = {
    "": Project("wikipedia", "wikipedia.org", "Wikipedia"),
    "b": Project("wikibooks", "wikibooks.org", "Wikibooks"),
    "d": Project("wiktionary", "wiktionary.org", "Wiktionary"),
    "f": Project("wikimediafoundation", "wikimediafoundation.org", "Wikimedia Foundation"),
    "m": Project("wikimedia", "wikimedia.org", "Wikimedia"),
    "n": Project("wikinews", "wikinews.org", "Wikinews"),
    "q": Project("wikiquote", "wikiquote.org", "Wikiquote"),
    "s": Project("wikisource", "wikisource.org", "Wikisource"),
    "v": Project("wikiversity", "wikiversity.org", "Wikiversity"),
    "voy": Project("wikivoyage", "wikivoyage.org", "Wikivoyage"),
    "w": Project("mediawiki", "mediawiki.org", "MediaWiki.org"),
    "wd": Project("wikidata", "wikidata.org", "Wikidata"),
}

# Sites without a language under www./m. (`www.wd`, `m.w`...): their names, where the project's own
# name alone would mislead (www.wikisource.org is the multilingual Wikisource, not all of them).
LANGUAGELESS_NAMES: dict[str, str] = {
    "wikipedia": "Wikipedia portal",
    "wikisource": "Multilingual Wikisource",
    "mediawiki": "MediaWiki.org",
    "wikidata": "Wikidata",
    "wikimediafoundation": "Wikimedia Foundation",
    "wikimedia": "Wikimedia portal",
}

# Wikis under wikimedia.org whose subdomain is not a language code: `commons.m` is one of them
# (commons.wikimedia.org); any other `xx.m` is the mobile Wikipedia of language xx (see sites.py).
WIKIMEDIA_SITES: dict[str, str] = {
    "advisory": "Advisory Board wiki",
    "api": "Wikimedia API portal",
    "collab": "Collab wiki",
    "commons": "Wikimedia Commons",
    "foundation": "Wikimedia Foundation Governance wiki",
    "incubator": "Wikimedia Incubator",
    "login": "Wikimedia login wiki",
    "meta": "Meta-Wiki",
    "outreach": "Outreach wiki",
    "quality": "Quality wiki",
    "species": "Wikispecies",
    "strategy": "Strategy wiki",
    "ten": "Wikipedia 10 wiki",
    "usability": "Usability wiki",
    "vote": "Wikimedia vote wiki",
    "wikimania": "Wikimania wiki",
    "wikitech": "Wikitech",
}

# Subdomains of language projects that are not languages.
SPECIAL_EDITIONS: dict[str, str] = {
    "simple": "Simple English",
    "test": "Test",
    "test2": "Test 2",
    "beta": "Beta",
}

_LANGUAGES = """
aa Afar
ab Abkhazian
ace Acehnese
ady Adyghe
af Afrikaans
ak Akan
als Alemannic
alt Southern Altai
am Amharic
ami Amis
an Aragonese
ang Old English
ann Obolo
anp Angika
ar Arabic
arc Aramaic
ary Moroccan Arabic
arz Egyptian Arabic
as Assamese
ast Asturian
atj Atikamekw
av Avaric
avk Kotava
awa Awadhi
ay Aymara
az Azerbaijani
azb South Azerbaijani
ba Bashkir
ban Balinese
bar Bavarian
bat-smg Samogitian
bbc Batak Toba
bcl Central Bikol
bdr West Coast Bajau
be Belarusian
be-tarask Belarusian (Taraškievica)
be-x-old Belarusian (Taraškievica)
bew Betawi
bg Bulgarian
bh Bhojpuri
bi Bislama
bjn Banjar
blk Pa'O
bm Bambara
bn Bangla
bo Tibetan
bpy Bishnupriya
br Breton
bs Bosnian
btm Batak Mandailing
bug Buginese
bxr Russia Buriat
ca Catalan
cbk-zam Chavacano
cdo Min Dong Chinese
ce Chechen
ceb Cebuano
ch Chamorro
cho Choctaw
chr Cherokee
chy Cheyenne
ckb Central Kurdish
co Corsican
cr Cree
crh Crimean Tatar
cs Czech
csb Kashubian
cu Church Slavic
cv Chuvash
cy Welsh
da Danish
dag Dagbani
de German
dga Southern Dagaare
din Dinka
diq Zazaki
dsb Lower Sorbian
dtp Central Dusun
dty Doteli
dv Divehi
dz Dzongkha
ee Ewe
el Greek
eml Emiliano-Romagnolo
en English
eo Esperanto
es Spanish
et Estonian
eu Basque
ext Extremaduran
fa Persian
fat Fanti
ff Fula
fi Finnish
fiu-vro Võro
fj Fijian
fo Faroese
fon Fon
fr French
frp Arpitan
frr Northern Frisian
fur Friulian
fy Western Frisian
ga Irish
gag Gagauz
gan Gan Chinese
gcr Guianan Creole
gd Scottish Gaelic
gl Galician
glk Gilaki
gn Guarani
gom Goan Konkani
gor Gorontalo
got Gothic
gpe Ghanaian Pidgin
gu Gujarati
guc Wayuu
gur Frafra
guw Gun
gv Manx
ha Hausa
hak Hakka Chinese
haw Hawaiian
he Hebrew
hi Hindi
hif Fiji Hindi
ho Hiri Motu
hr Croatian
hsb Upper Sorbian
ht Haitian Creole
hu Hungarian
hy Armenian
hyw Western Armenian
hz Herero
ia Interlingua
iba Iban
id Indonesian
ie Interlingue
ig Igbo
igl Igala
ii Sichuan Yi
ik Inupiaq
ilo Iloko
inh Ingush
io Ido
is Icelandic
it Italian
iu Inuktitut
ja Japanese
jam Jamaican Creole English
jbo Lojban
jv Javanese
ka Georgian
kaa Kara-Kalpak
kab Kabyle
kbd Kabardian
kbp Kabiye
kcg Tyap
kg Kongo
kge Komering
ki Kikuyu
kj Kuanyama
kk Kazakh
kl Kalaallisut
km Khmer
kn Kannada
knc Central Kanuri
ko Korean
koi Komi-Permyak
kr Kanuri
krc Karachay-Balkar
ks Kashmiri
ksh Colognian
ku Kurdish
kus Kusaal
kv Komi
kw Cornish
ky Kyrgyz
la Latin
lad Ladino
lb Luxembourgish
lbe Lak
lez Lezghian
lfn Lingua Franca Nova
lg Ganda
li Limburgish
lij Ligurian
lld Ladin
lmo Lombard
ln Lingala
lo Lao
lrc Northern Luri
lt Lithuanian
ltg Latgalian
lv Latvian
mad Madurese
mai Maithili
map-bms Banyumasan
mdf Moksha
mg Malagasy
mh Marshallese
mhr Eastern Mari
mi Māori
min Minangkabau
mk Macedonian
ml Malayalam
mn Mongolian
mni Manipuri
mnw Mon
mo Moldovan
mos Mossi
mr Marathi
mrj Western Mari
ms Malay
mt Maltese
mus Muscogee
mwl Mirandese
my Burmese
myv Erzya
mzn Mazanderani
na Nauru
nah Nahuatl
nap Neapolitan
nds Low German
nds-nl Low Saxon
ne Nepali
new Newari
ng Ndonga
nia Nias
nl Dutch
nn Norwegian Nynorsk
no Norwegian Bokmål
nov Novial
nqo N'Ko
nr South Ndebele
nrm Norman
nso Northern Sotho
nup Nupe
nv Navajo
ny Nyanja
oc Occitan
olo Livvi-Karelian
om Oromo
or Odia
os Ossetic
pa Punjabi
pag Pangasinan
pam Pampanga
pap Papiamento
pcd Picard
pcm Nigerian Pidgin
pdc Pennsylvania German
pfl Palatine German
pi Pali
pih Norfuk / Pitkern
pl Polish
pms Piedmontese
pnb Western Punjabi
pnt Pontic
ps Pashto
pt Portuguese
pwn Paiwan
qu Quechua
rki Arakanese
rm Romansh
rmy Vlax Romani
rn Rundi
ro Romanian
roa-rup Aromanian
roa-tara Tarantino
rsk Pannonian Rusyn
ru Russian
rue Rusyn
rw Kinyarwanda
sa Sanskrit
sah Yakut
sat Santali
sc Sardinian
scn Sicilian
sco Scots
sd Sindhi
se Northern Sami
sg Sango
sh Serbo-Croatian
shi Tachelhit
shn Shan
si Sinhala
simple Simple English
sk Slovak
skr Saraiki
sl Slovenian
sm Samoan
smn Inari Sami
sn Shona
so Somali
sq Albanian
sr Serbian
srn Sranan Tongo
ss Swati
st Southern Sotho
stq Saterland Frisian
su Sundanese
sv Swedish
sw Swahili
syl Sylheti
szl Silesian
szy Sakizaya
ta Tamil
tay Atayal
tcy Tulu
tdd Tai Nuea
te Telugu
tet Tetum
tg Tajik
th Thai
ti Tigrinya
tk Turkmen
tl Tagalog
tly Talysh
tn Tswana
to Tongan
tpi Tok Pisin
tr Turkish
trv Taroko
ts Tsonga
tt Tatar
tum Tumbuka
tw Twi
ty Tahitian
tyv Tuvinian
udm Udmurt
ug Uyghur
uk Ukrainian
ur Urdu
uz Uzbek
ve Venda
vec Venetian
vep Veps
vi Vietnamese
vls West Flemish
vo Volapük
wa Walloon
war Waray
wo Wolof
wuu Wu Chinese
xal Kalmyk
xh Xhosa
xmf Mingrelian
yi Yiddish
yo Yoruba
yue Cantonese
za Zhuang
zea Zeelandic
zgh Standard Moroccan Tamazight
zh Chinese
zh-classical Classical Chinese
zh-min-nan Min Nan Chinese
zh-yue Cantonese
zu Zulu
"""


def _parse_languages(text: str) -> dict[str, str]:
    """Read the `code English name` lines above."""
    pairs = (line.split(" ", 1) for line in text.strip().splitlines())
    return dict(pairs)


# Language code (the subdomain) -> English name, for the ~340 Wikipedia language editions.
LANGUAGE_NAMES: dict[str, str] = _parse_languages(_LANGUAGES)
