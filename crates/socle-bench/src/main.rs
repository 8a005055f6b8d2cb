//! `socle-bench`: Socle's benchmarks, out of the product binary. Figures that are not HTTP
//! (ingest, read model and index build, render, deploy, guardrails, DORA import and reports, SLO
//! rules) are
//! measured in this process; HTTP figures come from a `socle serve` child process loaded from
//! outside it (by `wrk`, or by this process's own client for the `abuse` request mix).

mod abuse;
mod adoption;
mod catalog;
mod data;
mod data_lineage;
mod dora;
mod dora_history;
mod dora_side;
mod output;
mod portal;
mod replicas;
mod replicas_sso;
mod scorecard_pages;
mod scorecard_rescore;
mod scorecards;
mod search;
mod server;
mod setup;
mod slo;
mod slo_budgets;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The same allocator and purge setting as `socle`, so that in-process memory figures match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v2's `mi_option_t` enum (the sys crate does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[derive(Parser)]
#[command(
    name = "socle-bench",
    version,
    about = "Socle's benchmarks (figures in BENCHMARKS.md)"
)]
struct Cli {
    /// The `socle` binary to serve HTTP benchmarks with (default: the one next to this binary,
    /// e.g. target/release/socle after `cargo build --release -p socle`).
    #[arg(long, global = true, env = "SOCLE_BENCH_SOCLE")]
    socle: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a synthetic organisation, ingest it, then load `socle serve` over HTTP with wrk.
    Catalog(catalog::CatalogBench),
    /// Resolve and render many synthetic workloads (3 resources each) for both targets.
    Render(workload::RenderBench),
    /// Deploy latency: resolve → render → GitOps commit → records, for one workload.
    Deploy(workload::DeployBench),
    /// Guardrails: built-in pack evaluations per second on a typical workload's manifests.
    Policy(workload::PolicyBench),
    /// Delivery metrics: import a large history, then report for the organisation and every team.
    Dora(dora::DoraBench),
    /// Portal: response time (p50/p99) of the main pages of `socle serve` on a generated catalog.
    Portal(portal::PortalBench),
    /// SLOs: validate and generate the Prometheus rules of many Sloth specs.
    Slo(slo::SloBench),
    /// SLOs: error-budget refresh against a real Prometheus, and the organisation list page.
    SloBudgets(slo_budgets::SloBudgetsBench),
    /// Scorecards: 100,000 entities' facts scored against 25 rules, on every core.
    Scorecards(scorecards::ScorecardsBench),
    /// Data contracts: one contract's checks on a 10 M-row PostgreSQL table, Socle beside
    /// datacontract-cli.
    Data(data::DataBench),
    /// Data pipelines: a 200-model synthetic pipeline rendered, parsed, traced (tables and
    /// columns) and ordered, as `socle data lineage` reads it.
    DataLineage(data_lineage::DataLineageBench),
    /// Adoption: the organisation's adoption and impact report over a large catalog.
    Adoption(adoption::AdoptionBench),
    /// Scorecards through the store: a full pass, then one entity re-scored (enqueue → row written).
    ScorecardRescore(scorecard_rescore::ScorecardRescoreBench),
    /// Replicas: two `socle serve` on one PostgreSQL — throughput through one and both,
    /// convergence after a catalog change, single sign-on round trip against oidc-provider.
    Replicas(replicas::ReplicasBench),
    /// Abuse: /healthz p99 and the server's peak RSS while the costliest allowed requests flood it.
    Abuse(abuse::AbuseBench),
    /// Search alone: each of `catalog`'s 20 queries run in process, one at a time, over the
    /// served index of a generated catalog (the CPU a search costs, without HTTP or queueing).
    Search(search::SearchBench),
}

fn main() -> ExitCode {
    // SAFETY: sets a documented mimalloc option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0) };
    let cli = Cli::parse();
    // `SOCLE_BENCH_LOG=info` shows the product's own phase logs (the read model's load, say).
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("SOCLE_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let run = || -> anyhow::Result<ExitCode> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let socle = cli.socle;
        rt.block_on(async move {
            match cli.cmd {
                Cmd::Catalog(args) => catalog::catalog(args, socle.as_deref()).await,
                Cmd::Search(args) => search::search(args).await,
                Cmd::Render(args) => workload::render(args),
                Cmd::Deploy(args) => workload::deploy(args).await,
                Cmd::Policy(args) => workload::policy(args),
                Cmd::Dora(args) => dora::dora(args, socle.as_deref()).await,
                Cmd::Portal(args) => portal::portal(args, socle.as_deref()).await,
                Cmd::Replicas(args) => replicas::replicas(args, socle.as_deref()).await,
                Cmd::Abuse(args) => abuse::abuse(args, socle.as_deref()).await,
                Cmd::Slo(args) => slo::slo(args),
                Cmd::SloBudgets(args) => slo_budgets::slo_budgets(args, socle.as_deref()).await,
                Cmd::Scorecards(args) => scorecards::scorecards(args),
                Cmd::Data(args) => data::data(args).await,
                Cmd::DataLineage(args) => data_lineage::data_lineage(args),
                Cmd::Adoption(args) => adoption::adoption(args).await,
                Cmd::ScorecardRescore(args) => scorecard_rescore::scorecard_rescore(args).await,
            }
        })
    };
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
