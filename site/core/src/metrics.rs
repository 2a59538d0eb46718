//! Prometheus metrics, kept by this process: requests by route and status,
//! their latency, and the background jobs' runs. `/metrics` adds what the
//! database says at scrape time (see `site`'s metrics page).

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    /// By route pattern (never the raw path: ids would explode the
    /// series), method and status.
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    /// Job runs by job and outcome (`ok`, `failed`).
    pub job_runs: IntCounterVec,
    /// Set at scrape time from the pool and the database.
    pub pool_connections: IntGauge,
    pub pool_idle: IntGauge,
    pub webhooks_waiting: IntGauge,
    pub mail_waiting: IntGauge,
    pub mail_failed: IntGauge,
    /// Background jobs due and not claimed yet, and failed for good.
    pub jobs_waiting: IntGauge,
    pub jobs_failed: IntGauge,
    pub orders_paid: IntGauge,
    /// Paid orders' totals, in minor units, by currency.
    pub revenue_minor: IntGaugeVec,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("shop".into()), None)?;
    let requests = IntCounterVec::new(
        Opts::new("http_requests_total", "HTTP requests answered"),
        &["route", "method", "status"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]),
        &["route"],
    )?;
    let job_runs = IntCounterVec::new(
        Opts::new("job_runs_total", "Background job runs"),
        &["job", "outcome"],
    )?;
    let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
        let g = IntGauge::new(name, help)?;
        registry.register(Box::new(g.clone()))?;
        Ok(g)
    };
    let pool_connections = gauge("db_pool_connections", "Database connections open")?;
    let pool_idle = gauge("db_pool_idle_connections", "Database connections idle")?;
    let webhooks_waiting = gauge(
        "webhook_events_waiting",
        "Payment webhook events stored and not processed yet",
    )?;
    let mail_waiting = gauge("mail_waiting", "Emails queued and not sent yet")?;
    let mail_failed = gauge("mail_failed", "Emails that failed for good")?;
    let jobs_waiting = gauge("jobs_waiting", "Background jobs due and not started yet")?;
    let jobs_failed = gauge("jobs_failed", "Background jobs that failed for good")?;
    let orders_paid = gauge("orders_paid", "Orders paid, ever")?;
    let revenue_minor = IntGaugeVec::new(
        Opts::new("revenue_paid_minor", "Paid orders' totals, in minor units"),
        &["currency"],
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(job_runs.clone()))?;
    registry.register(Box::new(revenue_minor.clone()))?;
    Ok(Metrics {
        registry,
        requests,
        latency,
        job_runs,
        pool_connections,
        pool_idle,
        webhooks_waiting,
        mail_waiting,
        mail_failed,
        jobs_waiting,
        jobs_failed,
        orders_paid,
        revenue_minor,
    })
}

/// This process's metrics.
pub static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("metric names and labels are fixed and valid"));

/// Counts one answered request.
pub fn observe_request(route: &str, method: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    m.requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    m.latency.with_label_values(&[route]).observe(seconds);
}

/// Counts one run of a background job.
pub fn observe_job(job: &str, ok: bool) {
    METRICS
        .job_runs
        .with_label_values(&[job, if ok { "ok" } else { "failed" }])
        .inc();
}

/// Everything, in Prometheus' text format.
pub fn render() -> String {
    let mut out = Vec::new();
    let families = METRICS.registry.gather();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::warn!(error = %e, "metrics could not be encoded");
    }
    String::from_utf8(out).unwrap_or_default()
}
