"""The external benchmark keeps each mode's figures between runs, without the wrong answers."""

from __future__ import annotations

import json

import pytest

from bench import external


@pytest.mark.fast
def test_a_run_replaces_its_mode_and_keeps_the_others(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(external, "FIGURES", tmp_path / "bench-external.json")
    monkeypatch.setattr(external, "RAW", tmp_path / "bench-data" / "external.json")
    external.FIGURES.write_text(json.dumps({"cjrc": {"peer": {"questions": 30, "commit": "abc"}}}), encoding="utf-8")
    report = {"questions": 102, "commit": "def", "failures": [{"id": "1", "answer": "…"}]}
    external._record("cjrc", "auto", report)
    figures = json.loads(external.FIGURES.read_text(encoding="utf-8"))
    assert figures["cjrc"]["peer"] == {"questions": 30, "commit": "abc"}
    assert figures["cjrc"]["auto"] == {"questions": 102, "commit": "def"}
    assert json.loads(external.RAW.read_text(encoding="utf-8"))["cjrc"]["auto"]["failures"]
    assert not list(tmp_path.rglob("*.partial"))
