"""`newsdesk ingest PATH... --ray [--ray-address ADDRESS]`: the same ingest, parsed, chunked and embedded
on a Ray cluster (service/ingest/distributed.py), written to the configured Chroma."""

from __future__ import annotations

from service.config import Settings


def cmd_ingest_on_ray(args, settings: Settings, components) -> int:
    from rich.console import Console

    from service.ingest.distributed import WorkerSpec, ingest_on_ray, start_ray
    from service.ingest.run import run_reported

    paths, address = list(args.paths), args.ray_address or None
    console = Console(stderr=False)
    ray = start_ray(address)
    cpus = ray.cluster_resources().get("CPU", 0)
    console.print(f"ray: {cpus:g} CPUs on {len(ray.nodes())} node(s) at {address or 'a local Ray'}", highlight=False)
    spec = WorkerSpec.from_settings(settings)
    return run_reported(lambda tick: ingest_on_ray(paths, components.ingester, spec, ray=ray, progress=tick),
                        None, [], components, console)
