//! `socle-bench slo-budgets`: the periodic error-budget refresh against a real Prometheus, and
//! the portal's organisation SLO list over many kept budgets.
//!
//! 1. A Prometheus (Debian's `prometheus`, history backfilled by `promtool`) serves two days of
//!    request counters for `--services` services; each service's catalog entry names an SLO file
//!    of ten SLOs. `App::refresh_slo_budgets` — what `socle serve` runs under its lease — measures
//!    every SLO (SLI and burn rate per window: 9 instant queries each, bounded concurrency) and
//!    keeps the budgets. Reported as SLOs per second.
//! 2. `--list-slos` budgets are kept in the store and `socle serve` answers `/slos` (the
//!    organisation list, least budget left first) to a signed-in member, one GET at a time.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_store::{Role, SloStatus, Store};

use crate::output::{self, Format};
use crate::server::{Server, StoreLocation};

#[derive(Args)]
pub struct SloBudgetsBench {
    /// Services with an SLO file of ten SLOs each, measured against Prometheus.
    #[arg(long, default_value_t = 100)]
    services: usize,
    /// Kept budgets for the organisation list (ten SLOs per service).
    #[arg(long, default_value_t = 10_000)]
    list_slos: usize,
    /// GETs of the organisation list (after 3 warm-up requests).
    #[arg(long, default_value_t = 100)]
    requests: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    slos_measured: usize,
    refresh_seconds: f64,
    slos_per_second: f64,
    list_slos: usize,
    list_rows: usize,
    list_bytes: usize,
    list_p50_ms: f64,
    list_p99_ms: f64,
    list_max_ms: f64,
}

const SLOS_PER_SERVICE: usize = 10;
const STEP_S: i64 = 60;
const HISTORY_S: i64 = 2 * 86_400;

/// Two days of counters per service, every minute: `service` requests and errors (one error
/// per 1,000 × the service's index mod 7, so budgets differ).
fn history(services: usize, end_s: i64) -> String {
    let mut out = String::from("# HELP http_requests Requests.\n# TYPE http_requests counter\n");
    for s in 0..services {
        let per_min = 1_000;
        let errors = (s % 7) as i64;
        for (code, rate) in [("200", per_min - errors), ("500", errors)] {
            let mut t = end_s - HISTORY_S;
            let mut value = 0;
            while t <= end_s {
                let _ = writeln!(
                    out,
                    "http_requests_total{{service=\"svc-{s}\",code=\"{code}\"}} {value} {t}"
                );
                value += rate;
                t += STEP_S;
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn slo_file(s: usize) -> String {
    let mut f = format!("version: \"prometheus/v1\"\nservice: \"svc-{s}\"\nslos:\n");
    for i in 0..SLOS_PER_SERVICE {
        let objective = [99.0, 99.5, 99.9][i % 3];
        let _ = write!(
            f,
            "  - name: \"availability-{i}\"\n    objective: {objective}\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{{service=\"svc-{s}\",code=~\"5..\"}}[{{{{.window}}}}]))\n        total_query: sum(rate(http_requests_total{{service=\"svc-{s}\"}}[{{{{.window}}}}]))\n    alerting:\n      name: Svc{s}Availability{i}\n"
        );
    }
    f
}

fn catalog(dir: &Path, services: usize) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir.join("slo"))?;
    let mut org = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    );
    for s in 0..services {
        let _ = write!(
            org,
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{s}\n  annotations:\n    socle.dev/slo: slo/svc-{s}.yaml\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
        );
        std::fs::write(dir.join(format!("slo/svc-{s}.yaml")), slo_file(s))?;
    }
    let path = dir.join("org.yaml");
    std::fs::write(&path, org)?;
    Ok(path)
}

/// Measures every SLO of `services` services against a real Prometheus; returns the SLOs
/// measured, the seconds and a kept budget (the model for the list's rows).
async fn refresh(services: usize, work: &Path) -> anyhow::Result<(usize, f64, serde_json::Value)> {
    let binaries = socle_testkit::prometheus::binaries()
        .context("prometheus and promtool are needed (Debian package prometheus)")?;
    let now_s = socle_api::now_ms() / 1000;
    let end_s = now_s - now_s.rem_euclid(STEP_S);
    eprintln!("backfilling {services} services' history into Prometheus…");
    let prom_dir = work.join("prometheus");
    std::fs::create_dir_all(&prom_dir)?;
    let prometheus = socle_testkit::prometheus::Prometheus::start(
        &binaries,
        &history(services, end_s),
        &prom_dir,
    )?;
    let client = socle_app::slo::PrometheusHttp::new(&prometheus.url)?;
    let started = Instant::now();
    use socle_app::slo::MetricsSource as _;
    while !client
        .instant("vector(1)", now_s as f64)
        .await
        .is_ok_and(|v| v == Some(1.0))
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "prometheus did not answer"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let org = catalog(&work.join("catalog"), services)?;
    let store = Store::open(&StoreLocation::new(work.join("refresh"), None).config()).await?;
    let mut platform = socle_platform::default_config();
    let prod = platform
        .environments
        .values_mut()
        .find(|e| e.env_type == "production")
        .context("no production environment")?;
    prod.slo.prometheus_url = Some(prometheus.url.clone());
    let app = socle_app::App::new(
        store.clone(),
        socle_app::AppConfig {
            refresh_interval: None,
            gitops_root: work.join("gitops"),
            platform,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let spec = socle_ingest::LocationSpec::file(org.to_string_lossy().into_owned());
    store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec)?,
            "user:default/admin",
            socle_store::LocationTrust::Organisation,
            socle_api::now_ms(),
        )
        .await?;
    app.refresh(&spec)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    eprintln!("refreshing {} SLOs' budgets…", services * SLOS_PER_SERVICE);
    let t = Instant::now();
    let summary = app
        .refresh_slo_budgets()
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        summary.failed == 0 && summary.measured == services,
        "refresh: {summary:?}"
    );
    let kept = store.list_slo_status(None, None, 100_000).await?;
    anyhow::ensure!(
        kept.len() == services * SLOS_PER_SERVICE,
        "{} budgets kept",
        kept.len()
    );
    anyhow::ensure!(
        kept.iter().all(|k| k.remaining.is_some()),
        "a budget without data"
    );
    let model = kept[0].budget.clone();
    store.close().await;
    Ok((kept.len(), seconds, model))
}

/// Keeps `n` budgets (copies of `model` with varied budgets left) and a signed-in member;
/// returns the session cookie.
async fn keep_list(store: &Store, n: usize, model: &serde_json::Value) -> anyhow::Result<String> {
    let now = socle_api::now_ms();
    let per_entity = SLOS_PER_SERVICE;
    for e in 0..n.div_ceil(per_entity) {
        let entity = format!("component:default/svc-{e}");
        let rows: Vec<SloStatus> = (0..per_entity.min(n - e * per_entity))
            .map(|i| {
                let remaining = 1.0 - ((e * 31 + i * 17) % 150) as f64 / 100.0;
                let mut budget = model.clone();
                budget["slo"] = format!("availability-{i}").into();
                budget["remaining"] = remaining.into();
                SloStatus {
                    entity: entity.clone(),
                    environment: "prod".into(),
                    slo: format!("availability-{i}"),
                    measured_at: now,
                    remaining: Some(remaining),
                    budget,
                }
            })
            .collect();
        store.save_slo_status(&entity, "prod", &rows).await?;
    }
    let (_, token) = store
        .create_token("bench", "user:default/bench", Role::Member, now)
        .await?;
    let session = store
        .open_session(&token, now, 3_600_000)
        .await?
        .context("session")?;
    Ok(format!(
        "{}={}",
        socle_portal::session::COOKIE,
        session.secret
    ))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn slo_budgets(
    args: SloBudgetsBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    let (measured, seconds, model) = refresh(args.services, work.path()).await?;
    let location = StoreLocation::new(work.path().join("list"), None);
    let store = Store::open(&location.config()).await?;
    let cookie = keep_list(&store, args.list_slos, &model).await?;
    store.close().await;
    let server = Server::start(&socle, &location, work.path())?;
    let addr = server.addr;
    let requests = args.requests;
    let (bytes, rows, mut times) = tokio::task::spawn_blocking(move || {
        let headers = [("Cookie", cookie.as_str())];
        let mut bytes = 0;
        let mut rows = 0;
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 3 {
            let t = Instant::now();
            let (status, body) = crate::server::get(addr, "/slos", &headers)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(status == 200, "/slos: {status}");
            bytes = body.len();
            rows = String::from_utf8_lossy(&body)
                .matches("<tr>")
                .count()
                .saturating_sub(1);
            if i >= 3 {
                times.push(ms);
            }
        }
        Ok::<_, anyhow::Error>((bytes, rows, times))
    })
    .await??;
    drop(server);
    times.sort_by(f64::total_cmp);
    let report = Report {
        slos_measured: measured,
        refresh_seconds: seconds,
        slos_per_second: measured as f64 / seconds,
        list_slos: args.list_slos,
        list_rows: rows,
        list_bytes: bytes,
        list_p50_ms: percentile(&times, 0.5),
        list_p99_ms: percentile(&times, 0.99),
        list_max_ms: times.last().copied().unwrap_or_default(),
    };
    output::print(args.output, &report, |r| {
        output::table(
            &[
                "SLOS MEASURED",
                "REFRESH",
                "SLOS/S",
                "LIST SLOS",
                "ROWS",
                "BYTES",
                "LIST P50",
                "LIST P99",
                "LIST MAX",
            ],
            &[vec![
                r.slos_measured.to_string(),
                format!("{:.2} s", r.refresh_seconds),
                format!("{:.0}", r.slos_per_second),
                r.list_slos.to_string(),
                r.list_rows.to_string(),
                r.list_bytes.to_string(),
                format!("{:.2} ms", r.list_p50_ms),
                format!("{:.2} ms", r.list_p99_ms),
                format!("{:.2} ms", r.list_max_ms),
            ]],
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
