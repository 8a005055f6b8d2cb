//! Reading a registered location into the store: the one place that joins `socle-ingest`'s
//! pure reading with the store's transaction.

use std::sync::Arc;

use socle_catalog::Limits;
use socle_ingest::{LocationSpec, NoRemotes, Progress, RemoteRepos, Trust};
use socle_store::{ApplyOutcome, LocationTrust, Store, StoreError};

/// The reader's view of a location's trust, as the store keeps it.
pub fn trust(t: LocationTrust) -> Trust {
    match t {
        LocationTrust::Organisation => Trust::Organisation,
        LocationTrust::Team => Trust::Team,
    }
}

/// How `https://` Git locations are fetched: a mirror directory ([`crate::net::GitMirrors`]) or
/// nowhere ([`Remotes::none`]).
#[derive(Clone)]
pub struct Remotes(pub Arc<dyn RemoteRepos>);

impl Remotes {
    /// Remote repositories are refused (tests, tools that read only local files).
    pub fn none() -> Self {
        Self(Arc::new(NoRemotes))
    }
}

impl std::fmt::Debug for Remotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Remotes")
    }
}

/// Reads a registered location and applies it to the store in one transaction; the reading
/// (CPU-bound) runs on a blocking thread. Groups and users are kept only when the location may
/// shape the organisation (`socle_ingest::enforce_trust`); an unregistered location counts as a
/// team's.
pub async fn refresh_location(
    store: &Store,
    spec: &LocationSpec,
    limits: &Limits,
    now_ms: i64,
    progress: Option<Progress>,
    remotes: &Remotes,
) -> Result<ApplyOutcome, StoreError> {
    let builtin = crate::scorecards::Scorecards::default();
    refresh_location_with(store, spec, limits, now_ms, progress, remotes, &builtin).await
}

/// [`refresh_location`] with the platform's scorecards and campaigns: a catalog definition
/// taking one of their names is refused (`crate::scorecards::catalog::refuse_taken`).
pub async fn refresh_location_with(
    store: &Store,
    spec: &LocationSpec,
    limits: &Limits,
    now_ms: i64,
    progress: Option<Progress>,
    remotes: &Remotes,
    platform: &crate::scorecards::Scorecards,
) -> Result<ApplyOutcome, StoreError> {
    let key = spec.key();
    let trust = trust(
        store
            .location_trust(&key)
            .await?
            .unwrap_or(LocationTrust::Team),
    );
    let (spec, limits, remotes) = (spec.clone(), limits.clone(), remotes.0.clone());
    let platform = platform.clone();
    let started = std::time::Instant::now();
    let read = blocking(move || {
        let read =
            socle_ingest::read_location_with(&spec, &limits, progress.as_ref(), remotes.as_ref());
        let mut read = socle_ingest::admit(read, trust);
        crate::scorecards::catalog::refuse_taken(&mut read, &platform);
        read
    })
    .await;
    tracing::debug!(
        location = key,
        entities = read.entities.len(),
        read_ms = started.elapsed().as_millis() as u64,
        "location read"
    );
    store
        .apply_location(
            &key,
            socle_store::ApplyInput {
                entities: &read.entities,
                errors: read.errors,
                files_failed: &read.files_failed,
                unreadable: read.unreadable,
                revision: read.commit,
            },
            now_ms,
        )
        .await
}

/// Runs `f` on a blocking thread; a panic there is a panic here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
