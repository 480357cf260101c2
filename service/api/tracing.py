"""OpenTelemetry traces, an optional extra (`pip install 'newsdesk[otel]'`).

With `NEWSDESK_OTEL_TRACES=1` each request becomes a server span (route template, method,
status, request id, the key's name; never the key), and an answer adds `retrieve` and
`generate` child spans from its own timings. Spans go over OTLP to wherever the standard
`OTEL_EXPORTER_OTLP_*` variables point. The provider is this app's own (not the global one),
so nothing else in the process is traced by accident.
"""

from __future__ import annotations

from typing import Any

from service.errors import ConfigError


class Tracer:
    def __init__(self, exporter: Any = None, *, batch: bool = True):
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        except ImportError:
            raise ConfigError("NEWSDESK_OTEL_TRACES needs the otel extra: pip install 'newsdesk[otel]'") from None
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": "newsdesk"}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("newsdesk.api")

    def record(self, *, route: str, method: str, status: int, request_id: str, key: str,
               started_ns: int, ended_ns: int, timings_ms: dict[str, float] | None) -> None:
        from opentelemetry import trace

        span = self.tracer.start_span(f"{method} {route}", kind=trace.SpanKind.SERVER, start_time=started_ns, attributes={
            "http.route": route, "http.request.method": method, "http.response.status_code": status,
            "newsdesk.request_id": request_id, "newsdesk.key": key})
        if status >= 500:
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        if timings_ms:
            # Placed back from the response: a queued ask starts answering well after it arrived.
            context = trace.set_span_in_context(span)
            end = ended_ns
            for step in ("generate", "retrieve"):
                took = int(timings_ms.get(step, 0.0) * 1_000_000)
                self.tracer.start_span(step, context=context, start_time=max(started_ns, end - took)).end(end_time=end)
                end = max(started_ns, end - took)
        span.end(end_time=ended_ns)

    def close(self) -> None:
        self.provider.shutdown()
