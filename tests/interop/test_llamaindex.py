"""LlamaIndex interop: `NewsdeskRetriever` inside a `RetrieverQueryEngine` with LlamaIndex's
`MockLLM`, in-process and against a newsdesk served by uvicorn on loopback; and
LlamaIndex `Document`s (as any reader produces them) ingested as articles."""

from __future__ import annotations

import pytest
from llama_index.core import Document
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeRelationship

from service.interop.llamaindex import NewsdeskRetriever, RemoteSearchError
from tests.mcp.conftest import ARTICLES

TEXTS = {a.article_id: a.text for a in ARTICLES}
QUESTION = "What did the port authority approve for the old harbour?"


def check_response(response) -> None:
    nodes = response.source_nodes
    assert nodes, "the query engine got no nodes"
    top = nodes[0]
    assert top.node.metadata["article_id"] == "harbour" and top.node.metadata["title"] == "Harbour dredging approved"
    assert top.node.metadata["source"] == "Coast Courier" and top.node.metadata["url"] == "https://coast.example/harbour"
    assert top.node.ref_doc_id == "harbour"
    assert top.score == max(n.score for n in nodes) > 0
    for n in nodes:
        start, end = n.node.start_char_idx, n.node.end_char_idx
        assert TEXTS[n.node.metadata["article_id"]][start:end] == n.node.text
    # MockLLM echoes its prompt: the synthesizer put the passage and its title in front of it.
    assert "40 million euro dredging plan" in str(response) and "Harbour dredging approved" in str(response)
    assert "https://coast.example/harbour" not in str(response)  # excluded from what the model sees


def test_in_process_retriever_in_a_query_engine(mcp_index):
    retriever = NewsdeskRetriever.from_components(mcp_index, top_k=3)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    check_response(engine.query(QUESTION))
    # The async path (agents, async query engines) gives the same nodes.
    import asyncio

    assert [n.node.id_ for n in asyncio.run(retriever.aretrieve(QUESTION))] == \
        [n.node.id_ for n in retriever.retrieve(QUESTION)]
    only = NewsdeskRetriever.from_components(mcp_index, filters={"sources": ["Valley Times"]}).retrieve(QUESTION)
    assert {n.node.metadata["article_id"] for n in only} == {"orchard"}
    assert only[0].node.relationships[NodeRelationship.SOURCE].node_id == "orchard"


def test_documents_from_any_reader_are_ingested(components):
    docs = [
        Document(text="  The ferry   service resumes on Monday after a two-week strike.\n\nUnions accepted a 6% raise.",
                 metadata={"title": "Ferries run again", "link": "https://coast.example/ferry", "outlet": "Coast Courier",
                           "authors": ["A. Lind", "B. Ruiz"], "date": "2025-03-04"}),
        Document(text="Council approves the new library budget of 3.1 million euros.", id_="council-2025-03",
                 metadata={"publisher": "Valley Times"}),
        Document(text="   ", metadata={"file_path": "/data/empty.txt"}),
        Document(text="A note with no metadata at all, read by some reader."),
    ]
    report = components.ingester.ingest_documents(docs)
    assert len(report.added) == 3 and [e.message for e in report.failed] == ["/data/empty.txt: article has no text"]
    ferry, row = components.store.get_article("https://coast.example/ferry")
    assert ferry.text == "The ferry service resumes on Monday after a two-week strike.\n\nUnions accepted a 6% raise."
    assert (row["title"], row["source"], row["author"]) == ("Ferries run again", "Coast Courier", "A. Lind, B. Ruiz")
    assert row["published_at"].startswith("2025-03-04")
    council, row = components.store.get_article("council-2025-03")
    assert row["source"] == "Valley Times" and row["title"].startswith("Council approves")
    # LlamaIndex's random default id is not an identity: the text's hash is, so a re-read updates nothing.
    again = components.ingester.ingest_documents([
        Document(text=docs[0].text, metadata=docs[0].metadata),  # a new random id_, the same link
        Document(text=docs[1].text, metadata=docs[1].metadata, id_="council-2025-03"),
        Document(text=docs[3].text),  # a new random id_, the same text
    ])
    assert len(again.unchanged) == 3 and components.store.count_articles() == 3


@pytest.mark.e2e
def test_remote_retriever_over_http_in_a_query_engine(mcp_index):
    from service.api.app import create_app
    from service.keys import KeyStore
    from tests.api.test_e2e import uvicorn_thread

    settings = mcp_index.settings.model_copy(update={"keys_collection": "llamaindex-test-keys"})
    key, _ = KeyStore(mcp_index.client, settings.keys_collection).create("llamaindex-app", ["ask"])
    with uvicorn_thread(create_app(settings, mcp_index)) as base:
        remote = NewsdeskRetriever.from_url(base, api_key=key, top_k=3)
        check_response(RetrieverQueryEngine.from_args(remote, llm=MockLLM()).query(QUESTION))
        # The same sources, in the same order, as in-process.
        local = NewsdeskRetriever.from_components(mcp_index, top_k=3).retrieve(QUESTION)
        assert [(n.node.id_, n.score) for n in remote.retrieve(QUESTION)] == [(n.node.id_, n.score) for n in local]
        only = NewsdeskRetriever.from_url(base, api_key=key, filters={"sources": ["Valley Times"]}).retrieve(QUESTION)
        assert {n.node.metadata["article_id"] for n in only} == {"orchard"}

        with pytest.raises(RemoteSearchError, match=r"/v1/search: HTTP 401: unauthorized: ") as refused:
            NewsdeskRetriever.from_url(base, api_key="nd_wrong-key-but-long-enough-0000000000").retrieve(QUESTION)
        assert "wrong-key" not in refused.value.message
        with pytest.raises(RemoteSearchError, match=r"HTTP 422: validation-error"):
            NewsdeskRetriever.from_url(base, api_key=key, top_k=999).retrieve(QUESTION)
    with pytest.raises(RemoteSearchError, match=r"ConnectError"):
        NewsdeskRetriever.from_url(base, api_key=key).retrieve(QUESTION)
