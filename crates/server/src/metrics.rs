//! Prometheus metrics: request counts and latencies by route and status, plus store sizes
//! read when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route template (not the raw path, to keep cardinality bounded).
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of a store size gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntityLabels {
    /// The entity.
    pub entity: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests served.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency in seconds.
    pub latency: Family<RequestLabels, Histogram>,
    /// Rows in the store.
    pub rows: Family<EntityLabels, Gauge>,
    /// Usage events written to the event log.
    pub events: Counter,
    /// Messages of accepted batches that were refused (invalid, or older than the
    /// late-arrival window), each named in the reply.
    pub refused: Counter,
    /// Acknowledged usage events not yet in the rollups (set when scraped).
    pub rollup_backlog: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mikawaya");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let rows = Family::<EntityLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register("store_rows", "Rows in the store by entity", rows.clone());
        let events = Counter::default();
        registry.register(
            "events_ingested",
            "Usage events written to the event log",
            events.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "events_refused",
            "Messages of accepted batches refused one by one (invalid or too old)",
            refused.clone(),
        );
        let rollup_backlog = Gauge::default();
        registry.register(
            "rollup_backlog",
            "Acknowledged usage events not yet in the rollups",
            rollup_backlog.clone(),
        );
        Self {
            refused,
            rollup_backlog,
            registry,
            requests,
            latency,
            rows,
            events,
        }
    }

    /// The OpenMetrics text exposition (served as `application/openmetrics-text`; it ends
    /// with `# EOF`, which the Prometheus 0.0.4 text format does not have).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
