"""Namespace names and main pages of the largest Wikipedias, for the "Articles only" view.

Each block lists, per canonical (English) namespace, the local names and aliases a wiki accepts,
underscored as in titles. Sources, transcribed as data: MediaWiki's languages/messages/MessagesXx.php
($namespaceNames, $namespaceAliases, $namespaceGenderAliases; the project talk pattern filled with the
wiki's name) and Wikimedia's operations/mediawiki-config (wgMetaNamespace, wgExtraNamespaces,
wgNamespaceAliases of each Wikipedia: Portal, Draft, WikiProject... and extension namespaces such as
Scribunto's Module); main pages: the MediaWiki:Mainpage message of each Wikipedia.

A language's block applies to every wiki of that language (de, de.m, de.b...): the names come from the
language file, shared by its projects; the Wikipedia-only names (project namespace, portals) cannot
name an article on a sister project, where such a prefix is an interwiki link, not an article.
"""

from __future__ import annotations

# Every wiki accepts the canonical English names; Module, TimedText and the Gadget namespaces exist
# on every Wikimedia wiki. The projects' names catch `Wikipedia:`/`Wikibooks:` (project namespace on
# their own wiki, an interwiki link elsewhere: never an article).
CANONICAL = """
Media: Media
Special: Special
Talk: Talk
User: User
User talk: User_talk
Project: Project Wikipedia Wikibooks Wiktionary Wikinews Wikiquote Wikisource Wikiversity Wikivoyage
Project: Wikidata Commons Meta Wikispecies Incubator
Project talk: Project_talk Wikipedia_talk Wikibooks_talk Wiktionary_talk Wikinews_talk Wikiquote_talk
Project talk: Wikisource_talk Wikiversity_talk Wikivoyage_talk Wikidata_talk Commons_talk Meta_talk
File: File Image
File talk: File_talk Image_talk
MediaWiki: MediaWiki
MediaWiki talk: MediaWiki_talk
Template: Template
Template talk: Template_talk
Help: Help
Help talk: Help_talk
Category: Category
Category talk: Category_talk
Module: Module
Module talk: Module_talk
TimedText: TimedText
TimedText talk: TimedText_talk
Gadget: Gadget
Gadget talk: Gadget_talk
Gadget definition: Gadget_definition
Gadget definition talk: Gadget_definition_talk
"""

LANGUAGES: dict[str, str] = {
    "en": """
Project: WP
Project talk: WT
Template: TM
Portal: Portal
Portal talk: Portal_talk
Draft: Draft
Draft talk: Draft_talk
""",
    "de": """
Media: Medium
Special: Spezial
Talk: Diskussion
User: Benutzer Benutzerin
User talk: Benutzer_Diskussion Benutzerin_Diskussion BD
Project: WP
Project talk: Wikipedia_Diskussion WD
File: Datei Bild
File talk: Datei_Diskussion Bild_Diskussion
MediaWiki talk: MediaWiki_Diskussion
Template: Vorlage
Template talk: Vorlage_Diskussion
Help: Hilfe H
Help talk: Hilfe_Diskussion HD
Category: Kategorie
Category talk: Kategorie_Diskussion
Portal: Portal P
Portal talk: Portal_Diskussion PD
Module: Modul
Module talk: Modul_Diskussion
""",
    "fr": """
Media: Média
Special: Spécial
Talk: Discussion Discuter
User: Utilisateur Utilisatrice
User talk: Discussion_utilisateur Discussion_utilisatrice Discussion_Utilisateur
Project: Wikipédia WP
Project talk: Discussion_Wikipédia Discussion_Wikipedia DW
File: Fichier
File talk: Discussion_fichier Discussion_Fichier Discussion_Image
MediaWiki talk: Discussion_MediaWiki
Template: Modèle
Template talk: Discussion_modèle Discussion_Modèle
Help: Aide
Help talk: Discussion_aide Discussion_Aide
Category: Catégorie
Category talk: Discussion_catégorie Discussion_Catégorie
Portal: Portail
Portal talk: Discussion_Portail
WikiProject: Projet
WikiProject talk: Discussion_Projet
Reference: Référence
Reference talk: Discussion_Référence
Module talk: Discussion_module
""",
    "es": """
Media: Medio
Special: Especial
Talk: Discusión
User: Usuario Usuaria
User talk: Usuario_discusión Usuaria_discusión Usuario_Discusión
Project: WP
Project talk: Wikipedia_discusión Wikipedia_Discusión
File: Archivo Imagen
File talk: Archivo_discusión Imagen_discusión Imagen_Discusión
MediaWiki talk: MediaWiki_discusión
Template: Plantilla
Template talk: Plantilla_discusión
Help: Ayuda
Help talk: Ayuda_discusión
Category: Categoría CAT
Category talk: Categoría_discusión
Portal: Portal
Portal talk: Portal_discusión
WikiProject: Wikiproyecto PR
WikiProject talk: Wikiproyecto_discusión
Module: Módulo
Module talk: Módulo_discusión
""",
    "ja": """
Media: メディア
Special: 特別
Talk: ノート トーク
User: 利用者
User talk: 利用者‐会話 利用者・トーク
Project talk: Wikipedia‐ノート Wikipedia・トーク
File: ファイル 画像
File talk: ファイル‐ノート ファイル・トーク 画像‐ノート
MediaWiki talk: MediaWiki‐ノート MediaWiki・トーク
Template: テンプレート
Template talk: Template‐ノート テンプレート・トーク
Help: ヘルプ
Help talk: Help‐ノート ヘルプ・トーク
Category: カテゴリ
Category talk: Category‐ノート カテゴリ・トーク
Portal: Portal ポータル
Portal talk: Portal‐ノート ポータル‐ノート Portal・トーク
WikiProject: プロジェクト
WikiProject talk: プロジェクト‐ノート
Module: モジュール
Module talk: モジュール‐ノート
""",
    "ru": """
Media: Медиа
Special: Служебная
Talk: Обсуждение
User: Участник Участница У U
User talk: Обсуждение_участника Обсуждение_участницы ОУ UT
Project: Википедия ВП
Project talk: Обсуждение_Википедии
File: Файл Изображение
File talk: Обсуждение_файла Обсуждение_изображения
MediaWiki talk: Обсуждение_MediaWiki
Template: Шаблон Ш T
Template talk: Обсуждение_шаблона
Help: Справка
Help talk: Обсуждение_справки
Category: Категория К
Category talk: Обсуждение_категории
Portal: Портал
Portal talk: Обсуждение_портала
Incubator: Инкубатор И
Incubator talk: Обсуждение_Инкубатора
WikiProject: Проект ПРО
WikiProject talk: Обсуждение_проекта ОПРО
Arbitration: Арбитраж АК Arbcom
Arbitration talk: Обсуждение_арбитража
Module: Модуль
Module talk: Обсуждение_модуля
""",
    "it": """
Special: Speciale
Talk: Discussione
User: Utente
User talk: Discussioni_utente
Project: WP
Project talk: Discussioni_Wikipedia DW
File: Immagine
File talk: Discussioni_file Discussioni_immagine
MediaWiki talk: Discussioni_MediaWiki
Template: T
Template talk: Discussioni_template
Help: Aiuto
Help talk: Discussioni_aiuto
Category: Categoria CAT
Category talk: Discussioni_categoria
Portal: Portale
Portal talk: Discussioni_portale
WikiProject: Progetto
WikiProject talk: Discussioni_progetto DP
Draft: Bozza
Draft talk: Discussioni_bozza
Module: Modulo
Module talk: Discussioni_modulo
""",
    "zh": """
Media: 媒体 媒體
Special: 特殊
Talk: 讨论 討論 对话 對話
User: 用户 用戶 使用者 U
User talk: 用户讨论 用戶討論 用户对话 用戶對話 使用者討論 UT
Project: 维基百科 維基百科 WP
Project talk: 维基百科讨论 維基百科討論 维基百科对话 維基百科對話 WT
File: 文件 檔案 图像 圖像
File talk: 文件讨论 檔案討論 图像讨论 圖像討論
MediaWiki talk: MediaWiki讨论 MediaWiki討論
Template: 模板 样板 樣板 T
Template talk: 模板讨论 模板討論 样板讨论 樣板討論
Help: 帮助 幫助 H
Help talk: 帮助讨论 幫助討論
Category: 分类 分類 CAT
Category talk: 分类讨论 分類討論
Portal: Portal 主题 主題 P
Portal talk: Portal_talk 主题讨论 主題討論 主题对话 主題對話
WikiProject: WikiProject PJ WPJ 专题 專題 维基专题 維基專題
WikiProject talk: WikiProject_talk PJT WPJT 专题讨论 专题对话 專題討論 專題對話 维基专题讨论 维基专题对话 維基專題討論 維基專題對話
Draft: Draft 草稿
Draft talk: Draft_talk 草稿讨论 草稿討論
Module: 模块 模組
Module talk: 模块讨论 模組討論
""",
    "pt": """
Media: Multimédia Mídia
Special: Especial
Talk: Discussão
User: Usuário Usuária Usuário(a) Utilizador Utilizadora
User talk: Usuário_Discussão Usuário(a)_Discussão Utilizador_Discussão Utilizadora_Discussão
Project: Wikipédia WP
Project talk: Wikipédia_Discussão Wikipedia_Discussão
File: Ficheiro Arquivo Imagem
File talk: Ficheiro_Discussão Arquivo_Discussão Imagem_Discussão
MediaWiki talk: MediaWiki_Discussão
Template: Predefinição
Template talk: Predefinição_Discussão
Help: Ajuda
Help talk: Ajuda_Discussão
Category: Categoria
Category talk: Categoria_Discussão
Portal: Portal
Portal talk: Portal_Discussão Discussão_Portal
Book: Livro
Book talk: Livro_Discussão
Module: Módulo
Module talk: Módulo_Discussão
""",
    "pl": """
Special: Specjalna
Talk: Dyskusja
User: Użytkownik Użytkowniczka Wikipedysta Wikipedystka
User talk: Dyskusja_użytkownika Dyskusja_użytkowniczki Dyskusja_wikipedysty Dyskusja_wikipedystki
Project: WP
Project talk: Dyskusja_Wikipedii
File: Plik Grafika
File talk: Dyskusja_pliku Dyskusja_grafiki
MediaWiki talk: Dyskusja_MediaWiki
Template: Szablon
Template talk: Dyskusja_szablonu
Help: Pomoc
Help talk: Dyskusja_pomocy
Category: Kategoria
Category talk: Dyskusja_kategorii
Portal: Portal
Portal talk: Dyskusja_portalu
WikiProject: Wikiprojekt
WikiProject talk: Dyskusja_wikiprojektu
Module: Moduł
Module talk: Dyskusja_modułu
""",
    "nl": """
Special: Speciaal
Talk: Overleg
User: Gebruiker Gebruikster
User talk: Overleg_gebruiker Overleg_gebruikster
Project: WP
Project talk: Overleg_Wikipedia
File: Bestand Afbeelding
File talk: Overleg_bestand Overleg_afbeelding
MediaWiki talk: Overleg_MediaWiki
Template: Sjabloon
Template talk: Overleg_sjabloon
Help: H
Help talk: Overleg_help
Category: Categorie
Category talk: Overleg_categorie
Portal: Portaal P
Portal talk: Overleg_portaal
Module talk: Overleg_module
""",
    "ar": """
Media: ميديا
Special: خاص
Talk: نقاش
User: مستخدم مستخدمة
User talk: نقاش_المستخدم نقاش_المستخدمة
Project: ويكيبيديا وب
Project talk: نقاش_ويكيبيديا نو
File: ملف صورة
File talk: نقاش_الملف نقاش_الصورة
MediaWiki: ميدياويكي
MediaWiki talk: نقاش_ميدياويكي
Template: قالب
Template talk: نقاش_القالب
Help: مساعدة
Help talk: نقاش_المساعدة
Category: تصنيف
Category talk: نقاش_التصنيف
Portal: بوابة
Portal talk: نقاش_البوابة
Module: وحدة
Module talk: نقاش_الوحدة
""",
    "fa": """
Media: مدیا رسانه
Special: ویژه
Talk: بحث
User: کاربر كاربر
User talk: بحث_کاربر بحث_كاربر بک
Project: ویکی‌پدیا وپ ویکی_پدیا ويكي_پديا ويکيپديا
Project talk: بحث_ویکی‌پدیا بوپ بحث_ویکی_پدیا بحث_ويکي_پديا بحث_ويکيپديا
File: پرونده تصویر
File talk: بحث_پرونده بحث_تصویر
MediaWiki: مدیاویکی
MediaWiki talk: بحث_مدیاویکی
Template: الگو
Template talk: بحث_الگو
Help: راهنما ره
Help talk: بحث_راهنما
Category: رده
Category talk: بحث_رده
Portal: درگاه
Portal talk: بحث_درگاه
Draft: پیشنویس پیش‌نویس پيشنويس پیش_نویس پيش_نويس Draft
Draft talk: بحث_پیشنویس بحث_پیش‌نویس بحث_پيشنويس بحث_پیش_نویس بحث_پيش_نويس Draft_talk
Module: پودمان پود
Module talk: بحث_پودمان
""",
    "uk": """
Media: Медіа
Special: Спеціальна
Talk: Обговорення
User: Користувач Користувачка
User talk: Обговорення_користувача Обговорення_користувачки
Project: Вікіпедія ВП
Project talk: Обговорення_Вікіпедії
File: Файл Зображення
File talk: Обговорення_файлу Обговорення_зображення
MediaWiki talk: Обговорення_MediaWiki
Template: Шаблон
Template talk: Обговорення_шаблону
Help: Довідка
Help talk: Обговорення_довідки
Category: Категорія
Category talk: Обговорення_категорії
Portal: Портал
Portal talk: Обговорення_порталу
Module: Модуль
Module talk: Обговорення_модуля
""",
    "sv": """
Talk: Diskussion
User: Användare
User talk: Användardiskussion
Project: WP
Project talk: Wikipediadiskussion
File: Fil Bild
File talk: Fildiskussion Bilddiskussion
MediaWiki talk: MediaWiki-diskussion
Template: Mall
Template talk: Malldiskussion
Help: Hjälp
Help talk: Hjälpdiskussion
Category: Kategori
Category talk: Kategoridiskussion
Portal: Portal
Portal talk: Portaldiskussion
Module: Modul
Module talk: Moduldiskussion
""",
    "id": """
Special: Istimewa Khusus
Talk: Pembicaraan Bicara
User: Pengguna
User talk: Pembicaraan_Pengguna Bicara_Pengguna
Project: WP
Project talk: Pembicaraan_Wikipedia
File: Berkas Gambar
File talk: Pembicaraan_Berkas Pembicaraan_Gambar
MediaWiki talk: Pembicaraan_MediaWiki
Template: Templat
Template talk: Pembicaraan_Templat
Help: Bantuan
Help talk: Pembicaraan_Bantuan
Category: Kategori
Category talk: Pembicaraan_Kategori
Portal: Portal
Portal talk: Pembicaraan_Portal
Module: Modul
Module talk: Pembicaraan_Modul
""",
    "vi": """
Media: Phương_tiện
Special: Đặc_biệt
Talk: Thảo_luận
User: Thành_viên
User talk: Thảo_luận_Thành_viên
Project talk: Thảo_luận_Wikipedia
File: Tập_tin Hình
File talk: Thảo_luận_Tập_tin Thảo_luận_Hình
MediaWiki talk: Thảo_luận_MediaWiki
Template: Bản_mẫu Tiêu_bản
Template talk: Thảo_luận_Bản_mẫu Thảo_luận_Tiêu_bản
Help: Trợ_giúp
Help talk: Thảo_luận_Trợ_giúp
Category: Thể_loại
Category talk: Thảo_luận_Thể_loại
Portal: Cổng_thông_tin Chủ_đề
Portal talk: Thảo_luận_Cổng_thông_tin Thảo_luận_Chủ_đề
Module: Mô_đun
Module talk: Thảo_luận_Mô_đun
""",
    "ko": """
Media: 미디어
Special: 특수 특수기능 특
Talk: 토론
User: 사용자 사
User talk: 사용자토론 사토
Project: 위키백과 백
Project talk: 위키백과토론 백토
File: 파일 그림
File talk: 파일토론 그림토론
MediaWiki: 미디어위키
MediaWiki talk: 미디어위키토론
Template: 틀
Template talk: 틀토론
Help: 도움말
Help talk: 도움말토론
Category: 분류
Category talk: 분류토론
Portal: 포털 들머리 들
Portal talk: 포털토론 들머리토론 들토
WikiProject: 위키프로젝트 프
WikiProject talk: 위키프로젝트토론 프토
Draft: 초안 Draft
Draft talk: 초안토론 Draft_talk
Module: 모듈
Module talk: 모듈토론
""",
    "he": """
Media: מדיה
Special: מיוחד מי
Talk: שיחה ש
User: משתמש משתמשת מש U
User talk: שיחת_משתמש שיחת_משתמשת שמש
Project: ויקיפדיה וק
Project talk: שיחת_ויקיפדיה שוק
File: קובץ תמונה קו
File talk: שיחת_קובץ שיחת_תמונה שקו
MediaWiki: מדיה_ויקי מו
MediaWiki talk: שיחת_מדיה_ויקי שמו
Template: תבנית תב
Template talk: שיחת_תבנית שתב
Help: עזרה עז
Help talk: שיחת_עזרה שעז
Category: קטגוריה קט
Category talk: שיחת_קטגוריה שקט
Portal: פורטל פ
Portal talk: שיחת_פורטל שפ
Book: ספר
Book talk: שיחת_ספר
Draft: טיוטה טי Draft
Draft talk: שיחת_טיוטה שטי Draft_talk
Module: יחידה י
Module talk: שיחת_יחידה שי
Topic: נ
""",
    "tr": """
Media: Ortam Medya
Special: Özel
Talk: Tartışma T
User: Kullanıcı K
User talk: Kullanıcı_mesaj Kullanıcı_tartışma
Project: Vikipedi VP
Project talk: Vikipedi_tartışma
File: Dosya Resim
File talk: Dosya_tartışma Resim_tartışma
MediaWiki: MedyaViki
MediaWiki talk: MediaWiki_tartışma MedyaViki_tartışma
Template: Şablon Ş
Template talk: Şablon_tartışma
Help: Yardım Y
Help talk: Yardım_tartışma
Category: Kategori KAT
Category talk: Kategori_tartışma
Portal: Portal P
Portal talk: Portal_tartışma
WikiProject: Vikiproje VPR
WikiProject talk: Vikiproje_tartışma
Module: Modül
Module talk: Modül_tartışma
""",
    "cs": """
Media: Média
Special: Speciální
Talk: Diskuse
User: Uživatel Uživatelka Wikipedista Wikipedistka
User talk: Diskuse_s_uživatelem Diskuse_s_uživatelkou Uživatel_diskuse Uživatelka_diskuse
User talk: Diskuse_s_wikipedistou Diskuse_s_wikipedistkou Wikipedista_diskuse Wikipedistka_diskuse
Project: Wikipedie WP
Project talk: Diskuse_k_Wikipedii Wikipedie_diskuse
File: Soubor Obrázek
File talk: Diskuse_k_souboru Soubor_diskuse Obrázek_diskuse
MediaWiki talk: Diskuse_k_MediaWiki MediaWiki_diskuse
Template: Šablona
Template talk: Diskuse_k_šabloně Šablona_diskuse
Help: Nápověda
Help talk: Diskuse_k_nápovědě Nápověda_diskuse
Category: Kategorie
Category talk: Diskuse_ke_kategorii Kategorie_diskuse
Portal: Portál
Portal talk: Diskuse_k_portálu Portál_diskuse
Index: Rejstřík
Index talk: Diskuse_k_rejstříku Rejstřík_diskuse
Module: Modul
Module talk: Diskuse_k_modulu
""",
}

# The main page of each Wikipedia (MediaWiki:Mainpage), underscored as in the dumps' titles.
MAIN_PAGES: dict[str, str] = {
    "en": "Main_Page",
    "de": "Wikipedia:Hauptseite",
    "fr": "Wikipédia:Accueil_principal",
    "es": "Wikipedia:Portada",
    "ja": "メインページ",
    "ru": "Заглавная_страница",
    "it": "Pagina_principale",
    "zh": "Wikipedia:首页",
    "pt": "Wikipédia:Página_principal",
    "pl": "Wikipedia:Strona_główna",
    "nl": "Hoofdpagina",
    "ar": "الصفحة_الرئيسية",
    "fa": "صفحهٔ_اصلی",
    "uk": "Головна_сторінка",
    "sv": "Portal:Huvudsida",
    "id": "Halaman_Utama",
    "vi": "Trang_Chính",
    "ko": "위키백과:대문",
    "he": "עמוד_ראשי",
    "tr": "Anasayfa",
    "cs": "Hlavní_strana",
}

# More languages, fewer namespaces: Special | Talk | User | User talk | File | Category, one line each.
# Names as collected in pywikibot's (compat) Wikipedia family file from MessagesXx.php; MediaWiki keeps a
# renamed namespace's old name as an alias, so old names still name the namespace; the current File
# names (after the Image -> File rename of 2008) are added from the same language files.
MORE_LANGUAGES = """
ab: Служебная | Обсуждение | Участник | Обсуждение_участника | Файл Изображение | Категория
af: Spesiaal | Bespreking | Gebruiker | Gebruikerbespreking | Lêer Beeld | Kategorie
als: Spezial | Diskussion | Benutzer | Benutzer_Diskussion | Datei Bild | Kategorie
am: ልዩ | ውይይት | አባል | አባል_ውይይት | ስዕል | መደብ
an: Espezial | Descusión | Usuario | Descusión_usuario | Imachen | Categoría
ast: Especial | Alderique | Usuariu | Usuariu_alderique | Ficheru Imaxe | Categoría
av: Служебная | Обсуждение | Участник | Обсуждение_участника | Файл Изображение | Категория
ay: Especial | Discusión | Usuario | Usuario_Discusión | Archivo Imagen | Categoría
az: Xüsusi | Müzakirə | İstifadəçi | İstifadəçi_müzakirəsi | Fayl Şəkil | Kateqoriya
ba: Ярҙамсы Махсус | Фекер_алышыу | Ҡатнашыусы | Ҡатнашыусы_м-н_фекер_алышыу | Файл Рәсем | Категория
bar: Spezial | Diskussion | Benutzer | Benutzer_Diskussion | Datei Bild | Kategorie
bat-smg: Specēlos | Aptarėms | Nauduotuos Naudotojas | Nauduotuojė_aptarėms | Abruozdielis | Kateguorėjė
bcl: Espesyal | Olay | Paragamit | Olay_kan_paragamit | Ladawan | Kategorya
be: Адмысловае Спецыяльныя | Размовы | Удзельнік | Размовы_з_удзельнікам | Файл Выява | Катэгорыя
be-x-old: Спэцыяльныя | Абмеркаваньне | Удзельнік | Гутаркі_ўдзельніка | Файл Выява | Катэгорыя
be-tarask: Спэцыяльныя | Абмеркаваньне | Удзельнік | Гутаркі_ўдзельніка | Файл Выява | Катэгорыя
bg: Специални | Беседа | Потребител | Потребител_беседа | Файл Картинка | Категория
bn: বিশেষ | আলাপ | ব্যবহারকারী | ব্যবহারকারী_আলাপ | চিত্র | বিষয়শ্রেণী
bpy: বিশেষ | য়্যারী | আতাকুরা | আতাকুরার_য়্যারী | ছবি | থাক
br: Dibar | Kaozeal | Implijer | Kaozeadenn_Implijer | Restr Skeudenn | Rummad
bs: Posebno | Razgovor | Korisnik | Razgovor_sa_korisnikom | Datoteka Slika | Kategorija
bug: Istimewa | Pembicaraan | Pengguna | Pembicaraan_Pengguna | Berkas | Kategori
ca: Especial | Discussió | Usuari | Usuari_Discussió Usuari_discussió | Fitxer Imatge | Categoria
ceb: Espesyal | | | | Payl Imahen | Kategoriya
ckb: تایبەت | وتووێژ | بەکارھێنەر | لێدوانی_بەکارھێنەر | پەڕگە | پۆل
cbk-zam: Especial | Discusión | Usuario | Usuario_Discusión | Imagen | Categoría
ce: Башхо | Дийца | Юзер | Юзери_дийца | Файл Сурт | Тоба Категори
crh: Mahsus Махсус | Muzakere Музакере | Qullanıcı Къулланыджы | Qullanıcı_muzakeresi Къулланыджы_музакереси | Resim Ресим | Kategoriya Категория
csb: Specjalnô | Diskùsëjô | Brëkòwnik | Diskùsëjô_brëkòwnika | Òbrôzk | Kategòrëjô
cu: Нарочьна | Бесѣда | Польѕевател҄ь | Польѕевател_бесѣда | Видъ | Катигорї
cv: Ятарлă | Сӳтсе_явасси | Хутшăнакан | Хутшăнаканăн_канашлу_страници | Ӳкерчĕк | Категори
cy: Arbennig | Sgwrs | Defnyddiwr | Sgwrs_Defnyddiwr | Delwedd | Categori
da: Speciel | Diskussion | Bruger | Brugerdiskussion | Fil Billede | Kategori
dsb: Specialne | Diskusija | Wužywaŕ | Diskusija_wužywarja | Dataja Wobraz | Kategorija
el: Ειδικό | Συζήτηση | Χρήστης | Συζήτηση_χρήστη | Αρχείο Εικόνα | Κατηγορία
eml: Speciale | Discussione | Utente | Discussioni_utente | Immagine | Categoria
eo: Speciala Specialaĵo | Diskuto | Vikipediisto Uzanto | Vikipediista_diskuto Uzanto-Diskuto | Dosiero | Kategorio
et: Eri | Arutelu | Kasutaja | Kasutaja_arutelu | Fail Pilt | Kategooria
eu: Aparteko Berezi | Eztabaida | Lankide | Lankide_eztabaida | Fitxategi Irudi | Kategoria
ff: | Discuter | Utilisateur | Discussion_Utilisateur | Fichier Image | Catégorie
fi: Toiminnot | Keskustelu | Käyttäjä | Keskustelu_käyttäjästä | Tiedosto Kuva | Luokka
fiu-vro: Tallituslehekülg | Arotus | Pruukja | Pruukja_arotus | Pilt | Katõgooria
fo: Serstakur | Kjak | Brúkari | Brúkari_kjak | Mynd | Bólkur
frp: Spèciâl | Discutar | Utilisator | Discussion_Utilisator | Fichiér Émâge | Catègorie
frr: Spezial | Diskussion | Benutzer | Benutzer_Diskussion | Datei Bild | Kategorie
fur: Speciâl | Discussion | Utent | Discussion_utent | Figure | Categorie
fy: Wiki | Oerlis | Meidogger | Meidogger_oerlis | Ofbyld | Kategory
ga: Speisialta | Plé | Úsáideoir | Plé_úsáideora | Íomhá | Catagóir Rang
gl: Especial | Conversa | Usuario | Conversa_Usuario Conversa_usuario | Ficheiro Imaxe | Categoría
glk: ویژه | بحث | کاربر | بحث_کاربر | تصویر | رده
gn: Especial | Discusión | Usuario | Usuario_Discusión | Imagen | Categoría
hak: 特殊 | | | | |
hi: विशेष | वार्ता | सदस्य | सदस्य_वार्ता | चित्र | श्रेणी
hr: Posebno | Razgovor | Suradnik | Razgovor_sa_suradnikom | Datoteka Slika | Kategorija
hsb: Specialnje | Diskusija | Wužiwar | Diskusija_z_wužiwarjom | Dataja Wobraz | Kategorija
ht: Espesyal | Diskite | Itilizatè | Diskisyon_Itilizatè | Imaj | Kategori
hu: Speciális | Vita | Szerkesztő User | Szerkesztővita User_vita | Fájl Kép | Kategória
hy: Սպասարկող | Քննարկում | Մասնակից | Մասնակցի_քննարկում | Պատկեր | Կատեգորիա
ia: | Discussion | Usator | Discussion_Usator | Imagine | Categoria
ilo: Espesial | | | | |
io: Specala | Debato | Uzanto | Uzanto_Debato | Imajo | Kategorio
is: Kerfissíða | Spjall | Notandi | Notandaspjall | Mynd | Flokkur
jv: Astamiwa Mirunggan | Dhiskusi | Panganggo | Dhiskusi_Panganggo | Barkas Gambar | Kategori
ka: სპეციალური | განხილვა | მომხმარებელი | მომხმარებლის_განხილვა მომხმარებელი_განხილვა | ფაილი სურათი | კატეგორია
kab: Uslig | Mmeslay | Amseqdac | Amyannan_umsqedac | Tugna | Taggayt
kk: Арнайы | Талқылау | Қатысушы | Қатысушы_талқылауы | Сурет | Санат
kn: ವಿಶೇಷ | ಚರ್ಚೆಪುಟ | ಸದಸ್ಯ | ಸದಸ್ಯರ_ಚರ್ಚೆಪುಟ | ಚಿತ್ರ | ವರ್ಗ
ksh: Spezial Shpezjal | Klaaf | Metmaacher Medmaacher | Metmaacher_Klaaf Medmaacher_Klaaf | Beld Belld | Saachjrupp Sachjrop Saachjropp Kattejori Kategorie Katejori
ku: Taybet | Nîqaş | Bikarhêner | Bikarhêner_nîqaş | Wêne | Kategorî
kv: Служебная | Обсуждение | Участник | Обсуждение_участника | Изображение | Категория
la: Specialis | Disputatio | Usor | Disputatio_Usoris | Fasciculus Imago | Categoria
lb: Spezial | Diskussioun | Benotzer | Benotzer_Diskussioun | Fichier Bild | Kategorie
lbe: Къуллугъирал_лажин | Ихтилат | Гьуртту_хьума | Гьуртту_хьуминнал_ихтилат | Сурат | Категория
li: Speciaal | Euverlèk | Gebroeker | Euverlèk_gebroeker | Plaetje | Categorie Kategorie
lij: Speciale | Discussione | Utente | Discussioni_utente | Immagine | Categoria
lmo: Speciale | Discussione | Utente | Discussioni_utente | Immagine | Categoria
ln: | Discuter | Utilisateur | Discussion_Utilisateur | Fichier Image | Catégorie
lt: Specialus | Aptarimas | Naudotojas | Naudotojo_aptarimas | Vaizdas | Kategorija
lv: Special | Diskusija | Lietotājs | Lietotāja_diskusija | Attēls | Kategorija
mg: Manokana | Dinika Discuter | Mpikambana Utilisateur | Discussion_Utilisateur | Sary Fichier Image | Sokajy Catégorie
mk: Специјални Специјална | Разговор | Корисник | Разговор_со_корисник | Податотека Слика | Категорија
ml: പ്രത്യേകം | സംവാദം | ഉപയോക്താവ് | ഉപയോക്താവിന്റെ_സംവാദം | പ്രമാണം ചിത്രം | വർഗ്ഗം വിഭാഗം
mr: विशेष | चर्चा | सदस्य | सदस्य_चर्चा | चित्र | वर्ग
ms: Khas | Perbincangan | Pengguna | Perbincangan_Pengguna Perbincangan_pengguna | Fail Imej | Kategori
mzn: ویژه | بحث | کاربر | بحث_کاربر | تصویر | رده
nah: Especial | Discusión | Usuario | Usuario_Discusión | Imagen | Categoría
nap: Speciale | Discussione | Utente | Discussioni_utente | Immagine | Categoria
nds: Spezial | Diskuschoon | Bruker | Bruker_Diskuschoon | Bild | Kategorie
nds-nl: Speciaal | Overleg | Gebruker | Overleg_gebruker | Ofbeelding | Kattegerie Categorie
new: विशेष | खँलाबँला | छ्येलेमि | छ्येलेमि_खँलाबँला | किपा | पुचः
nn: Spesial | Diskusjon | Brukar | Brukardiskusjon | Fil | Kategori
no: Spesial | Diskusjon | Bruker | Brukerdiskusjon | Fil Bilde | Kategori
oc: Especial | Discutir | Utilizaire | Discussion_Utilizaire | Fichièr Imatge | Categoria
or: ବିଶେଷ | | | | |
os: Сæрмагонд | Дискусси | Архайæг | Архайæджы_дискусси | Ныв | Категори
pa: ਖ਼ਾਸ ਖਾਸ | ਚਰਚਾ | ਮੈਂਬਰ | ਮੈਂਬਰ_ਚਰਚਾ | ਤਸਵੀਰ | ਸ਼੍ਰੇਣੀ
pdc: Spezial | Diskussion | Benutzer | Benutzer_Diskussion | Bild | Kategorie
pms: | Discussion | Utent | Ciaciarade | Figura | Categorìa
qu: Sapaq | Rimanakuy | Ruraq | Ruraq_rimanakuy | Rikcha | Katiguriya
ro: Special | Discuție Discuţie | Utilizator | Discuție_Utilizator Discuţie_Utilizator | Fișier Fişier Imagine | Categorie
sa: | संभाषणं | योजकः | योजकसंभाषणं | चित्रं | वर्गः
sc: Speciale | Contièndha | Utente | Utente_discussioni | Immàgini | Categoria
scn: Spiciali | Discussioni | Utenti | Discussioni_utenti | Mmàggini | Catigurìa
sh: Posebno | Razgovor | Korisnik | Razgovor_sa_korisnikom | Datoteka Slika | Kategorija
sk: Špeciálne | Diskusia | Redaktor | Diskusia_s_redaktorom | Súbor Obrázok | Kategória
sl: Posebno | Pogovor | Uporabnik | Uporabniški_pogovor | Slika | Kategorija
sq: Speciale | Diskutim | Përdoruesi | Përdoruesi_diskutim | Skeda Figura | Kategoria
sr: Посебно | Разговор | Корисник | Разговор_са_корисником | Датотека Слика | Категорија
stq: Spezial | Diskussion | Benutser | Benutser_Diskussion | Bielde | Kategorie
su: Husus | Obrolan | Pamaké | Obrolan_pamaké | Gambar | Kategori
sw: Maalum | Majadiliano | Mtumiaji | Majadiliano_ya_mtumiaji | Picha Faili | Jamii
ta: சிறப்பு | பேச்சு | பயனர் | பயனர்_பேச்சு | படிமம் | பகுப்பு
te: ప్రత్యేక | చర్చ | సభ్యులు సభ్యుడు వాడుకరి | సభ్యులపై_చర్చ వాడుకరి_చర్చ | దస్త్రం బొమ్మ | వర్గం
tet: Espesiál | Diskusaun | Uza-na'in | Diskusaun_Uza-na'in | Imajen | Kategoria
tg: Вижа | Баҳс | Корбар | Баҳси_корбар | Акс | Гурӯҳ
th: พิเศษ | พูดคุย | ผู้ใช้ | คุยกับผู้ใช้ | ไฟล์ ภาพ | หมวดหมู่
tl: Natatangi | Usapan | Tagagamit | Usapang_tagagamit | Talaksan | Kategorya
tt: Maxsus Махсус | Bäxäs Бәхәс | Äğzä Кулланучы | Äğzä_bäxäse Кулланучы_бәхәсе | Räsem Рәсем | Törkem Төркем
ty: | Discuter | Utilisateur | Discussion_Utilisateur | Fichier Image | Catégorie
udm: Панель | Вераськон | Викиавтор | Викиавтор_сярысь_вераськон | Суред | Категория
ur: خاص | تبادلۂ_خیال | صارف | تبادلۂ_خیال_صارف | ملف فائل تصویر | زمرہ
uz: Maxsus | Munozara | Foydalanuvchi | Foydalanuvchi_munozarasi | Fayl Tasvir | Turkum Kategoriya
vec: Speciale | Discussion | Utente | Discussion_utente | File Imagine | Categoria
vls: Specioal | Discuusje | Gebruker | Discuusje_gebruker | Ofbeeldienge | Categorie
vo: Patikos | Bespik | Geban | Gebanibespik | Ragiv Magod | Klad
wa: Sipeciås | Copene | Uzeu | Uzeu_copene | Imådje | Categoreye
war: Pinaurog | Hiruhimangraw | Gumaramit | Hiruhimangraw_hiton_gumaramit | Fayl | Kaarangay
wo: | Discuter | Utilisateur | Discussion_Utilisateur | Fichier Image | Catégorie
xal: Көдлхнə | Ухалвр | Орлцач | Орлцачна_тускар_ухалвр | Зург | Янз
yi: באַזונדער | רעדן | באַניצער | באַניצער_רעדן | טעקע בילד | קאַטעגאָריע
zea: Speciaol | Overleg | Gebruker | Overleg_gebruker | Plaetje | Categorie
"""
