"""OpenAI-compatible chat completions servers on 127.0.0.1 for benchmarks: one answers at
once, in the real response shape, so only newsdesk is measured; one never answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAKE_LLM_ANSWER = "The retrieved study addresses this claim directly [1]."


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    def log_message(self, *args) -> None:
        pass


class _LoopbackServer:
    """A threading HTTP server on a free loopback port; `url` is its OpenAI base URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class FakeOpenAI(_LoopbackServer):
    """A chat completions endpoint on 127.0.0.1 that answers at once, in the real shape."""

    def __init__(self) -> None:
        body = json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1741569952, "model": "bench-fake-llm",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": FAKE_LLM_ANSWER, "refusal": None,
                                                 "annotations": []}, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 12, "total_tokens": 912},
            "system_fingerprint": "fp_bench",
        }).encode()

        class Handler(_QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


class HangingOpenAI(_LoopbackServer):
    """A chat completions endpoint on 127.0.0.1 that accepts each request and never answers
    (until closed): what an overloaded or wedged provider looks like from newsdesk."""

    def __init__(self) -> None:
        closing = self.closing = threading.Event()

        class Handler(_QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                closing.wait()  # the client's timeout ends the call, or close() does

            do_GET = do_POST

        super().__init__(Handler)

    def close(self) -> None:
        self.closing.set()
        super().close()
