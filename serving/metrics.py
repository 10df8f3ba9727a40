"""Prometheus metrics of the API: request counts and latency by route template, models served.

Each app gets its own :class:`~prometheus_client.CollectorRegistry` (several apps live in one test process); the
``GET /metrics`` route renders that registry. Routes are labelled by their template (``/v1/orders/{order_id}``),
never the raw path, so label cardinality stays bounded whatever clients send; unmatched paths share one label.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values

# Importing Feast (``feast.metrics``) sets ``PROMETHEUS_MULTIPROC_DIR`` for Gunicorn-style pre-fork workers, which
# switches every later metric in the process to shared mmap files: two apps' counters with the same name then add up
# and our per-app registries stop being separate. The API is one uvicorn process with its own registry, so its values
# are kept in process memory whatever a dependency did to the environment.
values.ValueClass = values.MutexValue

__all__ = ["UNMATCHED_ROUTE", "ApiMetrics"]

UNMATCHED_ROUTE = "<unmatched>"

# Sub-millisecond to seconds: the forecast target is p99 < 20 ms, route solving may take the full time limit.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class ApiMetrics:
    """The metric families of one app, registered in their own registry.

    Attributes:
        registry: The registry ``GET /metrics`` renders.
        requests: Counter ``stockyard_http_requests_total{method, route, status}``.
        latency: Histogram ``stockyard_http_request_duration_seconds{method, route}``.
        model_info: Gauge ``stockyard_model_info{model, version}`` = 1 for each version being served.
        model_loaded: Gauge ``stockyard_model_loaded{model}``: 1 when a version is loaded, else 0.
        rate_limited: Counter ``stockyard_rate_limited_total{key}`` by API key prefix.
    """

    def __init__(self) -> None:
        """Create the families in a fresh registry."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stockyard_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "stockyard_http_request_duration_seconds",
            "HTTP request latency by method and route template (seconds, server side).",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "stockyard_model_info",
            "Model versions being served (value 1 for the served version).",
            ("model", "version"),
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "stockyard_model_loaded",
            "1 when a version of the model is loaded.",
            ("model",),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "stockyard_rate_limited_total",
            "Requests refused with 429 by API key prefix.",
            ("key",),
            registry=self.registry,
        )
        self._served: dict[str, str] = {}
        self._lock = threading.Lock()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and record its latency.

        Args:
            method: HTTP method.
            route: Route template or :data:`UNMATCHED_ROUTE`.
            status: Response status code.
            seconds: Wall time spent in the app.
        """
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def set_model_version(self, model: str, version: str | None) -> None:
        """Record which version of ``model`` is served (``None``: none).

        Args:
            model: Registered model name.
            version: Registry version now served, or ``None`` when nothing is loaded.
        """
        with self._lock:
            previous = self._served.pop(model, None)
            if previous is not None:
                self.model_info.remove(model, previous)
            if version is not None:
                self._served[model] = version
                self.model_info.labels(model, version).set(1)
            self.model_loaded.labels(model).set(0 if version is None else 1)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format.

        Returns:
            The exposition bytes.
        """
        return generate_latest(self.registry)
