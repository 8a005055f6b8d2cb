//! What every benchmark starts from: a generated organisation read into a store, in-process.

use anyhow::Context;
use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_store::Store;

/// Writes the synthetic organisation (seed 42) under `dir/org`; returns it and its root.
pub fn write_org(
    dir: &std::path::Path,
    entities: usize,
    per_file: usize,
) -> anyhow::Result<(socle_demo::SyntheticOrg, std::path::PathBuf)> {
    let org = socle_demo::generate(entities, 42, per_file);
    let src = dir.join("org");
    for (path, content) in &org.files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().context("path")?)?;
        std::fs::write(p, content)?;
    }
    Ok((org, src))
}

/// The generated organisation's root location.
pub fn org_location(src: &std::path::Path) -> LocationSpec {
    LocationSpec::file(src.join("catalog-info.yaml").to_string_lossy().into_owned())
}

/// Registers `spec` (as the operator's CLI does: an organisation location) and reads it into
/// the store, as `socle catalog ingest` does.
pub async fn ingest(
    store: &Store,
    spec: &LocationSpec,
) -> anyhow::Result<socle_store::ApplyOutcome> {
    let key = spec.key();
    let now = socle_api::now_ms();
    if store.get_location(&key).await?.is_none() {
        store
            .add_location(
                &key,
                &serde_json::to_value(spec)?,
                "cli:bench",
                socle_store::LocationTrust::Organisation,
                now,
            )
            .await?;
    }
    let out = socle_app::ingest::refresh_location(
        store,
        spec,
        &Limits::default(),
        now,
        None,
        &socle_app::ingest::Remotes::none(),
    )
    .await?;
    anyhow::ensure!(
        out.errors.is_empty(),
        "the generated organisation has errors: {:?}",
        out.errors.first()
    );
    Ok(out)
}

/// This process's resident set now (`VmRSS`), in MB.
pub fn current_rss_mb() -> f64 {
    crate::server::status_mb("/proc/self/status", "VmRSS:")
}

/// This process's peak resident set (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    crate::server::status_mb("/proc/self/status", "VmHWM:")
}
