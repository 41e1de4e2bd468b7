"""The "peer": the plain LangChain RAG a developer would write from the LangChain tutorials.

It exists as the baseline the project is compared against on the same question sets in the
same run: same e5 embeddings, same local Qwen model, same Chroma, but none of the project's
work — raw ``.txt`` files, ``RecursiveCharacterTextSplitter(500, 50)``, top-3 dense retrieval,
one stuffed prompt, and no checks of the answer. Whatever the project scores above this is
what its cleaning, chunking, hybrid retrieval, prompting and checks are worth.

Usage: ``.venv/bin/python bench/peer.py DOCS_DIR PERSIST_DIR "question"``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from chromadb.config import Settings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.config import Config
from assistant.embed import get_embedder
from assistant.llm import get_chat_model
from assistant.results import Answer, Source

COLLECTION = "peer"
MARKER = "peer.json"
CHUNK_SIZE = 500
CHUNK_OVERLAP = 50
TOP_K = 3
MAX_ANSWER_TOKENS = 200

PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "Answer the question using only the context below. "
            "If the context does not contain the answer, say you don't know.\n\nContext:\n{context}",
        ),
        ("human", "{question}"),
    ]
)

NOT_FOUND = (
    "don't know",
    "do not know",
    "cannot answer",
    "can't answer",
    "not mentioned",
    "不知道",
    "无法回答",
    "没有提到",
    "未提及",
    "无法确定",
    "没有相关",
)


def says_not_found(text: str) -> bool:
    """True when the model's answer says it does not know (English or Chinese phrasing)."""
    text = text.lower().replace("\u2019", "'")
    return any(phrase in text for phrase in NOT_FOUND)


class Peer:
    """Tutorial RAG over every ``.txt`` in ``docs_dir``, its Chroma collection kept in ``persist_dir``."""

    def __init__(self, docs_dir: Path, persist_dir: Path, config: Config | None = None) -> None:
        config = config or Config.from_env()
        self.docs_dir = Path(docs_dir)
        persist_dir = Path(persist_dir)
        persist_dir.mkdir(parents=True, exist_ok=True)
        self.store = Chroma(
            collection_name=COLLECTION,
            embedding_function=get_embedder(config),
            persist_directory=str(persist_dir),
            client_settings=Settings(anonymized_telemetry=False),
        )
        files = sorted(self.docs_dir.glob("*.txt"))
        marker = {"docs_dir": str(self.docs_dir.resolve()), "files": {f.name: f.stat().st_size for f in files}}
        marker_path = persist_dir / MARKER
        if not marker_path.is_file() or json.loads(marker_path.read_text(encoding="utf-8")) != marker:
            self._build(files)
            marker_path.write_text(json.dumps(marker, ensure_ascii=False, indent=1), encoding="utf-8")
        self.retriever = self.store.as_retriever(search_kwargs={"k": TOP_K})
        chat = get_chat_model(config.replace(llm_max_answer_tokens=MAX_ANSWER_TOKENS))
        if chat is None:
            raise ValueError("the peer needs a chat model: set ASSISTANT_LLM to 'local' or 'openai:...'")
        self.chain = PROMPT | chat | StrOutputParser()

    def _build(self, files: list[Path]) -> None:
        self.store.reset_collection()
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        docs = [Document(page_content=f.read_text(encoding="utf-8"), metadata={"source": f.name}) for f in files]
        self.store.add_documents(splitter.split_documents(docs))

    def ask(self, question: str) -> Answer:
        start = time.perf_counter()
        docs = self.retriever.invoke(question)
        context = "\n\n".join(d.page_content for d in docs)
        text = self.chain.invoke({"context": context, "question": question}).strip()
        return Answer(
            text=text,
            found=not says_not_found(text),
            sources=[
                Source(doc=d.metadata["source"], title="", section="", text=d.page_content, score=0.0) for d in docs
            ],
            timings={"total": time.perf_counter() - start},
            question=question,
            condensed_question=question,
            mode="peer",
            checks=[],
        )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    started = time.perf_counter()
    peer = Peer(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"[ready in {time.perf_counter() - started:.1f} s]")
    answer = peer.ask(sys.argv[3])
    print(answer.text)
    print(f"[found={answer.found}, {answer.timings['total']:.1f} s, sources: {[s.doc for s in answer.sources]}]")
