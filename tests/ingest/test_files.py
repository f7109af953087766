"""Tests for rag.ingest.files: formats, metadata, ids, discovery and hostile input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.config import Settings
from rag.ingest.files import SUPPORTED_SUFFIXES, Article, CsvColumns, LoadFailure, LoadOptions, discover, load_file
from rag.ingest.identity import record_id, text_id
from tests.conftest import MULTIHOP_CORPUS

OPTIONS = LoadOptions()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_one(path: Path, options: LoadOptions = OPTIONS) -> Article:
    articles, failures = load_file(path, options)
    assert failures == []
    assert len(articles) == 1
    return articles[0]


def only_failure(path: Path, options: LoadOptions = OPTIONS) -> LoadFailure:
    articles, failures = load_file(path, options)
    assert articles == []
    assert len(failures) == 1
    assert failures[0].path == path.resolve().as_posix()
    return failures[0]


# --------------------------------------------------------------------------- plain text and Markdown


def test_txt_without_front_matter_uses_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "istanbul-talks-2022-03.txt", "\r\n  First line.\r\nSecond line.\r\rThird.\n\n")
    article = load_one(path)
    assert article.title == "Istanbul talks 2022 03"
    assert article.text == "First line.\nSecond line.\n\nThird."
    assert article.date == "2022-03"
    assert (article.source, article.url) == ("", "")
    assert article.origin == path.resolve().as_posix()
    assert article.id == text_id(article.text)  # not the path: moving or renaming the file keeps it


def test_txt_with_key_value_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "report-2021-01-01.txt",
        "Title: Talks resume\nDATE: March 30, 2022\nSource: Reuters\nurl: https://example.com/a\n\nBody here.\n",
    )
    article = load_one(path)
    assert (article.title, article.date, article.source) == ("Talks resume", "2022-03-30", "Reuters")
    assert article.url == article.id == "https://example.com/a"
    assert article.text == "Body here."


def test_txt_with_dashed_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", '---\ntitle: "Quoted title"\nauthor: ignored\ndate: 2022/06/23\n---\nBody.\n')
    article = load_one(path)
    assert (article.title, article.date, article.text) == ("Quoted title", "2022-06-23", "Body.")


def test_txt_leading_colon_paragraph_is_not_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "note.txt", "Warning: this is text.\n\nMore text.")
    article = load_one(path)
    assert article.text == "Warning: this is text.\n\nMore text."
    assert article.title == "Note"


def test_txt_of_only_key_value_lines_is_body_text(tmp_path: Path) -> None:
    assert load_one(write(tmp_path / "t.txt", "Title: a line\nDate: another")).text == "Title: a line\nDate: another"


def test_front_matter_without_body_is_a_failure(tmp_path: Path) -> None:
    failure = only_failure(write(tmp_path / "a.md", "---\ntitle: Only metadata\n---\n"))
    assert "no body text" in failure.reason


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    path = write(tmp_path / "some_notes.md", "Intro line.\n\n# Kyiv wants guarantees #\n\nText.\n\n# Second\n")
    article = load_one(path)
    assert article.title == "Kyiv wants guarantees"
    assert article.text.startswith("Intro line.\n\n# Kyiv wants guarantees")


def test_markdown_front_matter_title_beats_heading(tmp_path: Path) -> None:
    path = write(tmp_path / "x.markdown", "Title: From front matter\n\n# Heading\n\nText.")
    assert load_one(path).title == "From front matter"


# ------------------------------------------------------------------- HTML (trafilatura, see rag.ingest.web.extract)

STORY = "The talks went on late into the evening, and both sides said they would meet again next week. " * 3
HTML_PAGE = f"""<!doctype html>
<html><head>
  <title>Page title | Site</title>
  <meta property="og:title" content="OG title">
  <meta property="og:site_name" content="The Daily">
  <meta property="article:published_time" content="2023-09-28T12:00:00+00:00">
  <link rel="canonical" href="https://daily.example/story?utm_source=feed">
  <style>body {{ color: red }}</style>
  <script>var tracking = "SECRET";</script>
</head><body>
  <header><h1>Site header</h1></header>
  <nav><a href="/">Home</a> MENU</nav>
  <main>
  <article>
    <h1>Story   headline</h1>
    <p>First   paragraph
       with <b>bold</b> text.</p>
    <script>alert("inline")</script>
    <p>Second paragraph. {STORY}</p>
    <aside>Related links</aside>
  </article></main>
  <footer>Copyright</footer>
</body></html>"""


def test_html_metadata_and_clean_text(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "story.html", HTML_PAGE))
    assert article.text == f"Story headline\nFirst paragraph with bold text.\nSecond paragraph. {STORY.strip()}"
    assert (article.title, article.source, article.date) == ("OG title", "The Daily", "2023-09-28")
    assert article.url == article.id == "https://daily.example/story"  # canonical, tracking removed
    for junk in ("SECRET", "alert", "MENU", "Site header", "Related", "Copyright", "color"):
        assert junk not in article.text


def test_html_time_tag_date_and_og_url(tmp_path: Path) -> None:
    page = (
        '<html><head><title>Plain title</title><meta property="og:url" content="https://x.example/p">'
        f'</head><body><main><p>Main text. {STORY}</p><time datetime="2022-08-01T16:23:25Z">Aug 1</time></main>'
        "</body></html>"
    )
    article = load_one(write(tmp_path / "p.htm", page))
    assert (article.title, article.date, article.url) == ("Plain title", "2022-08-01", "https://x.example/p")
    assert article.text.startswith("Main text. The talks went on")


def test_html_title_from_h1_and_meta_date(tmp_path: Path) -> None:
    page = f'<meta name="date" content="2022/06/23"><h1>Heading title</h1><div>Lead<p>Body. {STORY}</p></div>'
    article = load_one(write(tmp_path / "q.html", page))
    assert (article.title, article.date, article.source) == ("Heading title", "2022-06-23", "")
    assert "Body. The talks went on" in article.text


def test_html_in_a_legacy_encoding_is_read(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9 r\u00e9opened</title></head><body><article>'
        f"<p>The caf\u00e9 on the corner re\u00f6pened \u2013 \u201cat last\u201d. {STORY}</p></article></body></html>"
    )
    article = load_one(write(tmp_path / "cafe.html", page.encode("windows-1252")))
    assert article.title == "Caf\u00e9 r\u00e9opened"
    assert "The caf\u00e9 on the corner re\u00f6pened \u2013 \u201cat last\u201d." in article.text


def test_html_without_story_text_is_reported(tmp_path: Path) -> None:
    articles, failures = load_file(write(tmp_path / "kyiv_report.html", "<p>Text.</p>"), OPTIONS)
    assert articles == [] and "no readable story text" in failures[0].reason


# --------------------------------------------------------------------------- JSON and JSONL


def test_json_list_of_records(tmp_path: Path) -> None:
    records = [
        {"title": "One", "body": "Body one.", "published_at": "2023-11-27T08:45:59+00:00", "source": "Mashable",
         "url": "https://m.example/1"},
        {"title": "Two", "text": "Body two.", "pubDate": "Mon, 27 Nov 2023 08:45:59 +0000", "publisher": "P",
         "link": "https://m.example/2"},
        {"title": "Three", "content": "Body three.", "date": "2022", "source": {"id": None, "name": "NewsAPI src"}},
    ]  # fmt: skip
    path = write(tmp_path / "list.json", json.dumps(records))
    articles, failures = load_file(path, OPTIONS)
    assert failures == []
    third = record_id("Three", "2022", "NewsAPI src", "Body three.")
    assert [a.id for a in articles] == ["https://m.example/1", "https://m.example/2", third]
    assert [a.text for a in articles] == ["Body one.", "Body two.", "Body three."]
    assert [a.date for a in articles] == ["2023-11-27", "2023-11-27", "2022"]
    assert [a.source for a in articles] == ["Mashable", "P", "NewsAPI src"]


@pytest.mark.parametrize("key", ["articles", "data", "records"])
def test_json_object_with_record_list(tmp_path: Path, key: str) -> None:
    path = write(tmp_path / "obj.json", json.dumps({"meta": 1, key: [{"title": "T", "article": "Text."}, "oops"]}))
    articles, failures = load_file(path, OPTIONS)
    assert [(a.title, a.text, a.id) for a in articles] == [("T", "Text.", record_id("T", "", "", "Text."))]
    assert [f.path for f in failures] == [f"{path.resolve().as_posix()}#record 2"]
    assert "not an object" in failures[0].reason


def test_json_single_record_object(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps({"title": "Solo", "body": "Solo body."}))
    article = load_one(path)
    assert (article.id, article.title, article.text) == (record_id("Solo", "", "", ""), "Solo", "Solo body.")


def test_a_record_with_an_unreadable_date_is_kept_undated_and_said_so(tmp_path: Path) -> None:
    lines = [
        {"title": "A", "body": "Alpha.", "date": "30.02.2023"},
        {"body": "Beta, with no title, is the first line.\nA second line.", "date": "Nov 3, 2023"},
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(json.dumps(line) for line in lines))
    articles, failures = load_file(path, OPTIONS)
    assert [(a.id, a.title, a.date) for a in articles] == [
        (record_id("A", "", "", "Alpha."), "A", ""),
        # the id keeps the title given (none): the same record gets the same id as before titles were filled in
        (record_id("", "2023-11-03", "", articles[1].text), "Beta, with no title, is the first line.", "2023-11-03"),
    ]
    origin = path.resolve().as_posix()
    assert failures == [
        LoadFailure(
            f"{origin}#line 1",
            "date '30.02.2023' is not a date that can be read (malformed, no four-digit year, or day and month "
            "could be either way round); stored without a date: write it as YYYY-MM-DD",
            kept=True,
        )
    ]


def test_an_unreadable_front_matter_date_falls_back_to_the_file_name_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "harbour-2022-03-30.txt", "Title: Harbour\nDate: 31/31/2022\n\nThe harbour reopened.")
    (article,), (note,) = load_file(path, OPTIONS)
    assert (article.title, article.date, note.kept) == ("Harbour", "2022-03-30", True)
    assert note.reason.startswith("date '31/31/2022' is not a date that can be read")
    assert "stored with the date in the file's name, 2022-03-30: write it as YYYY-MM-DD" in note.reason


def test_html_entities_in_a_record_title_are_read_and_its_id_kept(tmp_path: Path) -> None:
    escaped = "&#039;Massive failure&#039;: AT&amp;T&#x27;s outage"
    article = load_one(write(tmp_path / "one.json", json.dumps({"title": escaped, "body": "Body."})))
    assert (article.title, article.id) == ("'Massive failure': AT&T's outage", record_id(escaped, "", "", "Body."))


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "A", "body": "Alpha."}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"title": "No body"}),
        json.dumps({"title": "B", "body": "Beta.", "date": "2022-03"}),
        '{"a": ' * 50_000,
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    articles, failures = load_file(path, OPTIONS)
    origin = path.resolve().as_posix()
    assert [(a.id, a.title, a.text, a.date) for a in articles] == [
        (record_id("A", "", "", ""), "A", "Alpha.", ""),
        (record_id("B", "2022-03", "", ""), "B", "Beta.", "2022-03"),
    ]
    assert [f.path for f in failures] == [f"{origin}#line {n}" for n in (3, 4, 5, 7)]
    assert "not valid JSON" in failures[0].reason and "column 2" in failures[0].reason
    assert "JSON array, not an object" in failures[1].reason
    assert "no body text" in failures[2].reason and "body, text, content, article" in failures[2].reason
    assert "not valid JSON (too deep)" in failures[3].reason


# --------------------------------------------------------------------------- CSV


def test_csv_in_ukraine_layout(tmp_path: Path) -> None:
    content = (
        "published,headlines,articles\r\n"
        '2022-08-01T16:23:25Z,Sanctions | Letters,"Para one.\r\n\r\nPara two, with comma."\r\n'
        '2022/06/23,"Kyiv, techno",Short text.\r\n'
        "2022/06/24,No text,\r\n"
    )
    path = write(tmp_path / "Guardians_Russia_Ukraine.csv", content)
    articles, failures = load_file(path, OPTIONS)
    origin = path.resolve().as_posix()
    assert [(a.id, a.title, a.date) for a in articles] == [
        (record_id("Sanctions | Letters", "2022-08-01", "", ""), "Sanctions | Letters", "2022-08-01"),
        (record_id("Kyiv, techno", "2022-06-23", "", ""), "Kyiv, techno", "2022-06-23"),
    ]
    assert articles[0].text == "Para one.\n\nPara two, with comma."
    assert {a.source for a in articles} == {"Guardians_Russia_Ukraine"}
    assert [f.path for f in failures] == [f"{origin}#row 3"]
    assert "column 'articles' is empty" in failures[0].reason


def test_csv_with_custom_mapping_and_big_field(tmp_path: Path) -> None:
    big = "word " * 40_000  # over csv's default 131072-character field limit
    content = f'Heading, Body ,When,Outlet,Link\nH1,"{big}",30 March 2022,Wire,https://w.example/1\n'
    options = LoadOptions(csv=CsvColumns(title="Heading", text="Body", date="When", source="Outlet", url="Link"))
    article = load_one(write(tmp_path / "custom.csv", content), options)
    assert (article.title, article.date, article.source) == ("H1", "2022-03-30", "Wire")
    assert article.id == article.url == "https://w.example/1"
    assert article.text == big.strip()


def test_options_from_settings() -> None:
    custom = Settings(max_article_bytes=123, csv_text_column="body", csv_title_column="headline")
    options = LoadOptions.from_settings(custom)
    assert options.max_bytes == 123
    assert options.csv == CsvColumns(title="headline", text="body")


# --------------------------------------------------------------------------- dates, ids, hashes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-09-28T12:00:00+00:00", "2023-09-28"),
        ("2022-08-01T16:23:25Z", "2022-08-01"),
        ("2022/06/23", "2022-06-23"),
        ("March 30, 2022", "2022-03-30"),
        ("Mar 30, 2022", "2022-03-30"),
        ("30 March 2022", "2022-03-30"),
        ("2022-03", "2022-03"),
        ("2022", "2022"),
        ("2022-3-5", "2022-03-05"),
        ("Tue, 29 Mar 2022 10:00:00 GMT", "2022-03-29"),
        ("2022-02-30", ""),
        ("2022-13", ""),
        ("yesterday", ""),
        ("2022 was a year", ""),
        ("", ""),
    ],
)
def test_date_normalisation(tmp_path: Path, raw: str, expected: str) -> None:
    path = write(tmp_path / "d.json", json.dumps({"body": "Text.", "date": raw}))
    (article,), notes = load_file(path, OPTIONS)
    assert article.date == expected
    assert [(note.kept, raw in note.reason) for note in notes] == ([(True, True)] if raw and not expected else [])


def test_duplicate_ids_get_suffixes(tmp_path: Path) -> None:
    records = [{"body": f"Text {i}.", "url": "https://same.example/x"} for i in range(3)]
    records.append({"body": "Other.", "url": "https://same.example/x#2"})
    articles, failures = load_file(write(tmp_path / "dup.json", json.dumps(records)), OPTIONS)
    assert failures == []
    ids = [a.id for a in articles]
    assert ids[:3] == ["https://same.example/x", "https://same.example/x#2", "https://same.example/x#3"]
    assert len(set(ids)) == 4
    assert all(a.url == "https://same.example/x" for a in articles[:3])


def test_content_hash_tracks_content() -> None:
    article = Article("id", "T", "Text.", "2022", "S", "", "/o")
    same = Article("id", "T", "Text.", "2022", "S", "", "/elsewhere")
    changed = Article("id", "T", "Text!", "2022", "S", "", "/o")
    assert article.content_hash == hashlib.sha256(b"id\x1fT\x1f2022\x1fS\x1f\x1fText.").hexdigest()
    assert article.content_hash == same.content_hash
    assert article.content_hash != changed.content_hash
    assert Article("id", "T", "Text.", "2023", "S", "", "/o").content_hash != article.content_hash


def test_json_escaped_nul_and_lone_surrogate_are_cleaned(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "s.json", '{"body": "bad\\u0000 \\ud800 char\\r\\n"}'))
    assert article.text == "bad \ufffd char"
    assert len(article.content_hash) == 64


def test_utf8_bom_and_utf16_are_decoded(tmp_path: Path) -> None:
    bom = load_one(write(tmp_path / "bom.txt", b"\xef\xbb\xbfCaf\xc3\xa9 text."))
    assert bom.text == "Café text."
    utf16 = load_one(write(tmp_path / "u16.txt", "Wide text.".encode("utf-16")))
    assert utf16.text == "Wide text."
    late_nul = load_one(write(tmp_path / "late.txt", b"a" * 9000 + b"\x00b"))
    assert late_nul.text == "a" * 9000 + "b"


# --------------------------------------------------------------------------- discovery


def test_discover_recurses_sorts_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "news"
    b = write(root / "b.txt", "B")
    a = write(root / "sub" / "deeper" / "a.MD", "A")
    c = write(root / "c.csv", "articles\nC")
    write(root / "notes.docx", "ignored under folders")
    write(root / ".hidden.txt", "hidden")
    write(root / ".git" / "x.txt", "hidden dir")
    files, failures = discover([root, b, root / "sub"])
    assert failures == []
    assert files == sorted([a.resolve(), b.resolve(), c.resolve()])


def test_discover_reports_missing_and_unsupported(tmp_path: Path) -> None:
    pdf = write(tmp_path / "report.docx", "x")
    hidden = write(tmp_path / ".given.txt", "explicitly given")
    files, failures = discover([tmp_path / "missing.txt", pdf, hidden])
    assert files == [hidden.resolve()]
    assert [f.path for f in failures] == [str(tmp_path / "missing.txt"), str(pdf)]
    assert "does not exist" in failures[0].reason
    assert "unsupported file type '.docx'" in failures[1].reason
    _, (ftp,) = discover([Path("ftp://example.com/story.txt")])
    assert "only http:// and https:// addresses are fetched" in ftp.reason


def test_discover_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "news"
    inside = write(root / "real.txt", "inside")
    outside = write(tmp_path / "secret.txt", "outside")
    (root / "escape.txt").symlink_to(outside)
    (root / "alias.txt").symlink_to(inside)
    (root / "escape_dir").symlink_to(tmp_path, target_is_directory=True)
    files, failures = discover([root])
    assert files == [inside.resolve()]
    assert sorted(f.path for f in failures) == [str(root / "escape.txt"), str(root / "escape_dir")]
    assert all(f.reason == f"symlink points outside {root.resolve()}; copy the file in instead" for f in failures)


# --------------------------------------------------------------------------- hostile input


def test_hostile_files_fail_cleanly_and_valid_files_still_load(tmp_path: Path) -> None:
    options = LoadOptions(max_bytes=150_000)
    hostile = {
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
        "zero.txt": (b"", "empty"),
        "blank.md": (b" \n\t\r\n  ", "empty"),
        "big.txt": (b"x" * 150_001, "150,001 bytes, over the limit of 150,000 bytes"),
        "latin1.txt": ("Café".encode("latin-1"), "not valid UTF-8 (invalid byte 0xe9 at offset 3)"),
        "deep.json": (b"[" * 100_000, "nested too deeply"),
        "truncated.json": (b'[{"body": "cut', "malformed JSON at line 1, column 11"),
        "wrong.csv": (b"date,headline,body\n2022,T,Text\n", "columns found: date, headline, body"),
        "scripts.html": (b"<script>alert(1)</script><style>p{}</style>", "no readable story text"),
        "empty-list.json": (b"[]", "holds no records"),
        "header-only.csv": (b"published,headlines,articles\n", "holds no records"),
    }
    for name, (content, _) in hostile.items():
        write(tmp_path / name, content)
    good = write(tmp_path / "good.txt", "A fine article.")
    files, discovery_failures = discover([tmp_path])
    assert discovery_failures == []
    loaded: list[Article] = []
    failures: dict[str, str] = {}
    for path in files:
        articles, file_failures = load_file(path, options)
        loaded += articles
        failures.update((Path(f.path).name, f.reason) for f in file_failures)
    assert [(a.id, a.origin) for a in loaded] == [(text_id(loaded[0].text), good.resolve().as_posix())]
    assert set(failures) == set(hostile)
    for name, (_, expected) in hostile.items():
        assert expected in failures[name], (name, failures[name])
    assert "RAG_MAX_ARTICLE_BYTES" in failures["big.txt"]
    assert "re-save the file as UTF-8" in failures["latin1.txt"]
    assert "RAG_CSV_TEXT_COLUMN" in failures["wrong.csv"]


def test_unreadable_and_unsupported_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "unsupported file type '.docx'" in only_failure(write(tmp_path / "x.docx", "x")).reason
    assert "not a readable PDF" in only_failure(write(tmp_path / "x.pdf", "x")).reason
    assert "cannot read the file (No such file or directory)" in only_failure(tmp_path / "gone.txt").reason
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert "cannot read the file (Is a directory)" in only_failure(folder).reason
    locked = write(tmp_path / "locked.txt", "secret")

    def deny(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", deny)  # chmod alone does not stop root
    assert "cannot read the file (Permission denied)" in only_failure(locked).reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    suffix=st.sampled_from(SUPPORTED_SUFFIXES),
)
def test_load_file_never_raises(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = write(tmp_path / f"fuzz{suffix}", content)
    articles, failures = load_file(path, OPTIONS)
    assert articles or failures
    for article in articles:
        assert article.text and article.text == article.text.strip()
        assert "\r" not in article.text and "\x00" not in article.text
        assert len(article.content_hash) == 64


# --------------------------------------------------------------------------- real data


@pytest.mark.shared_data("multihop-rag/corpus.json")
def test_real_multihop_corpus() -> None:
    articles, failures = load_file(MULTIHOP_CORPUS, LoadOptions(max_bytes=20_000_000))  # the file is ~6.8 MB
    assert failures == []
    assert len(articles) == 609
    assert len({a.id for a in articles}) == 609
    assert all(a.id == a.url and a.url.startswith("http") for a in articles)
    assert all(len(a.date) == 10 and a.date.startswith("2023-") for a in articles)
    assert all(a.title and a.source and a.text for a in articles)
