"""Interop: newsdesk inside other frameworks (an edge, like the API; it imports the core
and never another edge). `llamaindex`: `NewsdeskRetriever`, in-process or over HTTP."""
