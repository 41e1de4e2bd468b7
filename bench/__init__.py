"""Benchmarks (`make bench`, `make eval`) and the helpers the tests share with them.

The tests import from here, and only these: ``servers`` (free ports, a real Chroma server,
the environment of an ``assistant`` subprocess), ``generate_corpus`` and ``load`` (the load
test's documents and clients) and ``peer`` (the plain LangChain RAG that ``make eval`` compares
against, which tests/test_peer.py checks). Nothing in ``assistant`` imports this package, and it
is not part of the installed distribution.
"""
