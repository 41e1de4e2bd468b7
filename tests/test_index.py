"""Index builds on a real Chroma: idempotent, incremental, atomic, and strict about settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Config, IndexProblem, answer, build_index, index_status
from assistant.store import CURRENT_FILE

EXTRA = (
    "深圳市2008年科技工作总结\n\n（一）科技创新\n\n2008年，深圳市全社会研发投入达到260亿元，高新技术产品产值8,710亿元。"
)


def _generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("gen-*"))


def test_indexing_twice_writes_nothing_new(fresh_config: Config, corpus_copy: Path) -> None:
    first = build_index([corpus_copy], config=fresh_config)
    assert first.chunks_embedded == first.chunks_total > 0
    generation = (fresh_config.index_dir / CURRENT_FILE).read_text()
    second = build_index([corpus_copy], config=fresh_config)
    assert second.chunks_embedded == 0 and not second.changed
    assert (fresh_config.index_dir / CURRENT_FILE).read_text() == generation


def test_incremental_build_embeds_only_changes_and_drops_removed(fresh_config: Config, corpus_copy: Path) -> None:
    base = build_index([corpus_copy], config=fresh_config)
    (corpus_copy / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    added = build_index([corpus_copy], config=fresh_config)
    assert added.added == ["shenzhen.txt"]
    assert added.unchanged and added.chunks_embedded == 1
    assert added.chunks_total == base.chunks_total + 1
    result = answer("2008年深圳市全社会研发投入是多少？", config=fresh_config, mode="extractive")
    assert result.found and "260亿元" in result.text
    assert result.sources[0].doc == "shenzhen.txt"

    (corpus_copy / "shenzhen.txt").unlink()
    removed = build_index([corpus_copy], config=fresh_config)
    assert removed.removed == ["shenzhen.txt"] and removed.chunks_embedded == 0
    status = index_status(config=fresh_config)
    assert [d["doc_id"] for d in status["documents"]] == [p.name for p in corpus_copy.iterdir()]
    assert status["chunks"] == base.chunks_total
    gone = answer("2008年深圳市全社会研发投入是多少？", config=fresh_config, mode="extractive")
    assert not gone.found


def test_changed_document_is_embedded_again(fresh_config: Config, tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "report.txt"
    doc.parent.mkdir()
    doc.write_text(EXTRA, encoding="utf-8")
    build_index([doc.parent], config=fresh_config)
    doc.write_text(EXTRA.replace("260亿元", "275亿元"), encoding="utf-8")
    report = build_index([doc.parent], config=fresh_config)
    assert report.updated == ["report.txt"] and report.chunks_embedded == 1
    result = answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    assert "275亿元" in result.text and "260" not in result.text


def test_killed_rebuild_leaves_the_previous_index_answering(fresh_config: Config, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shenzhen.txt").write_text(EXTRA, encoding="utf-8")
    build_index([docs], config=fresh_config)
    before = (fresh_config.index_dir / CURRENT_FILE).read_text()

    big = tmp_path / "big"
    big.mkdir()
    for i in range(40):
        (big / f"r{i}.txt").write_text(
            "".join(f"第{i}号报告第{j}段记录了{i * 100 + j}件事项的办理情况。" for j in range(60)), encoding="utf-8"
        )
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(fresh_config.index_dir), "ASSISTANT_LLM": "none"}
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", "build", "--rebuild", str(big)],
        env=env,
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
    assert list(fresh_config.index_dir.glob(".staging-*")), "the rebuild should be writing a staging generation"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert (fresh_config.index_dir / CURRENT_FILE).read_text() == before
    result = answer("深圳市全社会研发投入达到多少？", config=fresh_config, mode="extractive")
    assert result.found and "260亿元" in result.text
    again = build_index([docs], config=fresh_config)  # the next build clears the debris
    assert not again.changed
    assert not list(fresh_config.index_dir.glob(".staging-*"))


def test_failed_build_keeps_the_index(fresh_config: Config, corpus_copy: Path, tmp_path: Path) -> None:
    build_index([corpus_copy], config=fresh_config)
    before = (fresh_config.index_dir / CURRENT_FILE).read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ok.txt").write_text(EXTRA, encoding="utf-8")
    (bad / "broken.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(Exception, match="not a PDF"):
        build_index([bad], config=fresh_config)
    assert (fresh_config.index_dir / CURRENT_FILE).read_text() == before
    assert index_status(config=fresh_config)["chunks"] > 0


def test_other_settings_are_a_clear_error(fresh_config: Config, corpus_copy: Path) -> None:
    build_index([corpus_copy], config=fresh_config)
    other = fresh_config.replace(chunk_size=200)
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


def test_missing_index_says_how_to_build(fresh_config: Config) -> None:
    with pytest.raises(IndexProblem, match="assistant index build"):
        answer("专利授权量是多少？", config=fresh_config, mode="extractive")
    assert index_status(config=fresh_config)["exists"] is False
