"""The MCP edge: newsdesk's engine as Model Context Protocol tools (`ask`, `search`,
`get_article`), over stdio (`newsdesk mcp`) or streamable HTTP (mounted by `serve`)."""

from service.mcp.server import build_server

__all__ = ["build_server"]
