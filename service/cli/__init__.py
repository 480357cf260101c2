"""`newsdesk` command line; see `service.cli.main`."""

from service.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
