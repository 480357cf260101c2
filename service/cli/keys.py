"""`newsdesk keys create|list|revoke`: API keys in the shared store (hashes only).

`create` prints the key once, alone on stdout (the rest goes to stderr), so
`KEY=$(newsdesk keys create --name ci --scopes ask)` captures exactly the key.
"""

from __future__ import annotations

import argparse
import json
import sys

from service.config import Settings


def key_store(settings: Settings):
    from service.index.client import open_client
    from service.keys import KeyStore

    client = open_client(index_dir=settings.index_dir, host=settings.chroma_host, port=settings.chroma_port,
                         ssl=settings.chroma_ssl)
    return KeyStore(client, settings.keys_collection, ttl_s=settings.key_cache_ttl_s)


def cmd_keys_create(args, settings: Settings) -> int:
    from service.access import parse_rate
    from service.keys import parse_list

    if args.rate_limit:
        parse_rate(args.rate_limit)
    key, record = key_store(settings).create(args.name, parse_list(args.scopes), parse_list(args.collections),
                                             rate_limit=args.rate_limit)
    if args.json:
        print(json.dumps({"key": key, **record.to_dict()}, indent=2))
        return 0
    print(f"created key {record.name!r} (id {record.key_id}, scopes {','.join(sorted(record.scopes))}, "
          f"collections {','.join(record.collections) or 'all'})", file=sys.stderr)
    print(key)
    print("Store it now: it is not shown again (only its hash is kept).", file=sys.stderr)
    return 0


def cmd_keys_list(args, settings: Settings) -> int:
    keys = key_store(settings).list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return 0
    from rich.table import Table

    from service.cli.tables import print_whole, whole_column

    table = Table(title=f"{sum(k.active for k in keys)} active API keys")
    whole_column(table, "name", [k.name for k in keys])
    whole_column(table, "key id", [k.key_id for k in keys])
    for column in ("scopes", "collections", "rate limit"):
        table.add_column(column, overflow="fold")
    whole_column(table, "created", [k.created_at for k in keys])
    whole_column(table, "revoked", [k.revoked_at or "" for k in keys])
    for k in keys:
        table.add_row(k.name, k.key_id, ",".join(sorted(k.scopes)), ",".join(k.collections) or "all",
                      k.rate_limit or "default", k.created_at, k.revoked_at or "")
    print_whole(table)
    return 0


def cmd_keys_revoke(args, settings: Settings) -> int:
    revoked = key_store(settings).revoke(args.key)
    for k in revoked:
        print(f"revoked key {k.name!r} (id {k.key_id}); every replica refuses it within {settings.key_cache_ttl_s:g} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="API keys: create (shown once), list, revoke")
    kinds = keys.add_subparsers(dest="keys", required=True)
    p = kinds.add_parser("create", help="create a key and print it once")
    p.add_argument("--name", required=True, help="shown in logs and metrics instead of the key")
    p.add_argument("--scopes", required=True, help="comma-separated: ask (ask, read articles), write (change articles), "
                                                    "admin (keys, reindex)")
    p.add_argument("--collections", default="", help="comma-separated collections the key may use (default: all)")
    p.add_argument("--rate-limit", help="this key's own limit, e.g. 600/minute (default NEWSDESK_RATE_LIMIT)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_create)

    p = kinds.add_parser("list", help="every key: name, id, scopes, collections, revoked or not (never the key)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_list)

    p = kinds.add_parser("revoke", help="revoke the active key with this name or key id")
    p.add_argument("key", metavar="NAME_OR_ID")
    p.set_defaults(func=cmd_keys_revoke)
