"""Prometheus metrics of one server (prometheus-client, a registry per app so that several apps
in one process, as in tests, do not collide). Exposed at ``GET /metrics``."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Render jobs take from ~1 ms (a cached preview) to the watchdog limit.
RENDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """The server's counters, gauges and histograms; names follow Prometheus conventions
    (``_total`` is appended to counters by prometheus-client, ``_seconds`` and ``_bytes`` units)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.images = Counter("unnatural_images_rendered", "Images rendered and accepted by the quality filter", registry=r)
        self.rejected = Counter("unnatural_images_rejected",
                                "Images rejected by the quality filter (replaced by deterministic re-draws)", registry=r)
        self.bytes_sent = Counter("unnatural_bytes_sent", "Tar bytes sent in shard and stream responses",
                                  ["endpoint"], registry=r)
        self.render_seconds = Histogram("unnatural_render_seconds", "Wall time of one render job, dispatch to result",
                                        ["kind"], buckets=RENDER_BUCKETS, registry=r)
        self.active_streams = Gauge("unnatural_active_streams", "Shard and stream responses in progress",
                                    ["endpoint"], registry=r)
        self.errors = Counter("unnatural_errors", "Errors by kind", ["kind"], registry=r)
        self.worker_restarts = Counter("unnatural_render_worker_restarts",
                                       "Render processes restarted (watchdog timeout or exit)", registry=r)
        self.workers_busy = Gauge("unnatural_render_workers_busy", "Render processes running a job", registry=r)
        self.workers_ready = Gauge("unnatural_render_workers_ready", "Render processes up and past their test render",
                                   registry=r)
        self.queue_depth = Gauge("unnatural_render_queue_depth", "Render jobs waiting for a process", registry=r)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
