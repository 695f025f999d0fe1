"""What the server tells Prometheus (``GET /metrics``, behind BADGE_METRICS_TOKEN).

Counters and histograms are kept per process by prometheus-client; with several workers
(``badge-server serve --workers N``) each writes its values to files in PROMETHEUS_MULTIPROC_DIR
(set by serve) and a scrape sums them. Gauges of the district's state (open sessions, kiosks
heard from) are read from the database at each scrape instead: every process sees the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from badge_server.clock import utcnow
from badge_server.store.db import read_only_transaction
from badge_server.store.models import Device, Org, StudentSession

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
KIOSK_RECENT = timedelta(minutes=5)
# A badge exchange is a few milliseconds when all is well; a child notices past half a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    """The server's metrics, and the registry ``/metrics`` shows."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        multiprocess = os.environ.get(MULTIPROCESS_DIR)
        # In multiprocess mode the values live in files; the scrape's collector reads them all.
        own = None if multiprocess else self.registry
        self.exchanges = Counter(
            "badge_exchanges", "Badge exchanges (a badge shown to a kiosk or scanner), by outcome.", ["outcome"],
            registry=own,
        )  # fmt: skip
        self.exchange_seconds = Histogram(
            "badge_exchange_seconds", "Time to answer a badge exchange.", buckets=LATENCY_BUCKETS, registry=own
        )
        self.sign_in_seconds = Histogram(
            "badge_sign_in_seconds",
            "Time to answer each later step of a sign-in (launch, OIDC, SAML, hand-off), by step.",
            ["step"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.requests = Counter(
            "badge_http_requests", "Requests answered, by status class (2xx, 4xx, 5xx).", ["status"], registry=own
        )
        self.rate_limited = Counter(
            "badge_rate_limited", "Requests refused by a rate limit (429), by step.", ["step"], registry=own
        )
        self.shed = Counter(
            "badge_requests_shed", "Requests refused at once because the server was busy (503).", registry=own
        )
        self.database_errors = Counter(
            "badge_database_errors", "Requests that failed because the database was unavailable.", registry=own
        )
        if multiprocess:
            MultiProcessCollector(self.registry, path=multiprocess)  # type: ignore[no-untyped-call]
        self.registry.register(DistrictState(factory))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DistrictState(Collector):
    """Read at each scrape: open student sessions by client, and the kiosks heard from."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        sessions = GaugeMetricFamily(
            "badge_active_sessions", "Student sessions open now, by client (kiosk, browser, home).", labels=["client"]
        )
        recent = GaugeMetricFamily(
            "badge_kiosks_seen_recently",
            "Enrolled kiosks and scanners of each school heard from in the last 5 minutes.",
            labels=["school"],
        )
        last_seen = GaugeMetricFamily(
            "badge_kiosk_last_seen_timestamp_seconds",
            "When each enrolled kiosk or scanner was last heard from (Unix time).",
            labels=["device", "school"],
        )
        with read_only_transaction(self.factory) as db:
            open_now = db.execute(
                select(StudentSession.client, func.count())
                .where(StudentSession.ended_at.is_(None), StudentSession.expires_at > now)
                .group_by(StudentSession.client)
            )
            for client, count in open_now:
                sessions.add_metric([client], count)
            devices = db.execute(
                select(Device.name, Org.name, Device.last_seen_at)
                .join(Org, Org.id == Device.school_id)
                .where(Device.disabled_at.is_(None))
            ).all()
        heard: dict[str, int] = {}
        for device, school, seen in devices:
            heard.setdefault(school, 0)
            if seen is not None:
                heard[school] += seen > now - KIOSK_RECENT
                last_seen.add_metric([device, school], seen.timestamp())
        for school, count in sorted(heard.items()):
            recent.add_metric([school], count)
        yield from (sessions, recent, last_seen)
