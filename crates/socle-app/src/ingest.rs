//! Reading a registered location into the store: the one place that joins `socle-ingest`'s
//! pure reading with the store's transaction.

use socle_catalog::Limits;
use socle_ingest::{LocationSpec, Progress, Trust};
use socle_store::{ApplyOutcome, LocationTrust, Store, StoreError};

/// The reader's view of a location's trust, as the store keeps it.
pub fn trust(t: LocationTrust) -> Trust {
    match t {
        LocationTrust::Organisation => Trust::Organisation,
        LocationTrust::Team => Trust::Team,
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
) -> Result<ApplyOutcome, StoreError> {
    let key = spec.key();
    let trust = trust(
        store
            .location_trust(&key)
            .await?
            .unwrap_or(LocationTrust::Team),
    );
    let (spec, limits) = (spec.clone(), limits.clone());
    let read = blocking(move || {
        let read = socle_ingest::read_location_with_progress(&spec, &limits, progress.as_ref());
        socle_ingest::admit(read, trust)
    })
    .await;
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
