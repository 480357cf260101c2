"""A fake feed server on loopback: each path answers from a function of the request
headers, and every request is recorded (path and headers) for the tests to inspect."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[[dict[str, str]], Reply]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                route = server.routes.get(self.path)
                status, extra, body = route(headers) if route else (404, {}, b"not found")
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def static(body: bytes | str, content_type: str = "application/rss+xml", **headers: str) -> Route:
    data = body.encode() if isinstance(body, str) else body
    return lambda _: (200, {"Content-Type": content_type, **headers}, data)


def conditional(body: str, etag: str, last_modified: str = "Mon, 02 Jun 2025 10:00:00 GMT",
                content_type: str = "application/rss+xml") -> Route:
    """200 with validators, or 304 when the client sends them back unchanged."""

    def route(headers: dict[str, str]) -> Reply:
        # RFC 9110: If-None-Match, when sent, decides; If-Modified-Since only without it.
        sent = headers.get("if-none-match")
        if sent == etag or (sent is None and headers.get("if-modified-since") == last_modified):
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": content_type, "ETag": etag, "Last-Modified": last_modified}, body.encode()

    return route


def rss(*items: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Fake</title>'
            '<link>http://127.0.0.1/</link><description>d</description>' + "".join(items) + "</channel></rss>")


def rss_item(guid: str | None, link: str, title: str, paragraphs: list[str], *, date: str = "Tue, 03 Jun 2025 09:00:00 GMT",
             summary: str = "A short summary.") -> str:
    guid_xml = f"<guid isPermaLink=\"false\">{guid}</guid>" if guid else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<item><title>{title}</title><link>{link}</link>{guid_xml}<pubDate>{date}</pubDate>"
            f"<author>desk@example.org (Dana Reyes)</author><description>{summary}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>")


def atom(*entries: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            '<title>Fake Atom</title><id>urn:fake</id><updated>2025-06-03T09:00:00Z</updated>'
            + "".join(entries) + "</feed>")


def atom_entry(entry_id: str, link: str, title: str, summary: str, updated: str = "2025-06-03T09:00:00Z") -> str:
    return (f'<entry><id>{entry_id}</id><title>{title}</title><link href="{link}"/>'
            f"<updated>{updated}</updated><summary>{summary}</summary>"
            "<author><name>Ola Berg</name></author></entry>")


def page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{body}</article>"
            f"<footer>Copyright Fake Outlet. All rights reserved.</footer></body></html>")
