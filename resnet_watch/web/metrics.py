"""/metrics in the Prometheus text format, built from a status snapshot at scrape time.

A custom collector on a private registry (no global state): every scrape reads one
``StatusSnapshot``, so counters, queue depth and the latency histogram are consistent
with each other. The standard process_* metrics (RSS, CPU, open fds) come along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from resnet_watch.web.activity import StatusSnapshot

__all__ = ["CONTENT_TYPE", "metrics_registry", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _DaemonCollector(Collector):
    def __init__(self, snapshot: Callable[[], StatusSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot()
        yield InfoMetricFamily(
            "resnet_watch_model",
            "The model in use",
            value={
                "name": s.model,
                "precision": s.precision,
                "weights_sha256": s.weights_sha256,
                "version": s.version,
            },
        )
        for name, value, help_text in (
            ("images_classified", s.classified, "Images classified"),
            ("images_failed", s.failed, "Failed attempts to classify an image"),
            ("images_skipped", s.skipped, "Images skipped (up to date, vanished)"),
            ("images_submitted", s.submitted, "Images handed to the pipeline"),
        ):
            yield CounterMetricFamily(f"resnet_watch_{name}", help_text, value=value)
        gauges: tuple[tuple[str, float, str], ...] = (
            ("queue_depth", s.queue_depth, "Images waiting for a decode thread or the model"),
            ("in_flight", s.in_flight, "Images queued or being processed"),
            ("pending_retries", s.pending_retries, "Failed images waiting for a retry"),
            ("ready", int(s.ready), "1 when the daemon is ready and its worker is alive"),
            ("uptime_seconds", s.uptime_seconds, "Seconds since the daemon started"),
            ("resident_memory_bytes", s.rss_bytes, "Resident set size of the daemon"),
        )
        for gauge, amount, gauge_help in gauges:
            yield GaugeMetricFamily(f"resnet_watch_{gauge}", gauge_help, value=amount)
        if s.last_heartbeat is not None:
            yield GaugeMetricFamily(
                "resnet_watch_last_heartbeat_timestamp_seconds",
                "Unix time of the worker loop's last heartbeat",
                value=s.last_heartbeat,
            )
        buckets = [(str(bound), count) for bound, count in s.latency_buckets]
        buckets.append(("+Inf", s.latency_count))
        yield HistogramMetricFamily(
            "resnet_watch_image_latency_seconds",
            "Seconds from reading an image to its labels",
            buckets=buckets,
            sum_value=s.latency_sum,
        )


def metrics_registry(snapshot: Callable[[], StatusSnapshot]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DaemonCollector(snapshot))
    ProcessCollector(registry=registry)
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
