//! Start-up work that must run on one replica at a time — the first start's bootstrap admin
//! token, the demo organisation and its delivery loop — held under the `startup` lease in the
//! store. Replicas started together on one database take turns: the first does the work, the
//! others wait for the lease and then find it done (each step is idempotent once it ran to its
//! end). A replica that dies holding the lease hands it on when it expires ([`LEASE_TTL`]); the
//! holder renews it while it works.

use std::time::Duration;

use socle_store::{Store, StoreError};

use crate::clock::{Clock, SystemClock};

/// The lease's name in the store.
pub const STARTUP_LEASE: &str = "startup";
/// How long the lease lasts without a renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often its holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often a waiting replica asks for it.
const POLL_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "another replica has held the start-up lease for {0:?}: its start-up work (bootstrap token, demo) did not finish"
    )]
    Timeout(Duration),
}

/// The held `startup` lease; renewed in the background until [`StartupLease::release`] (or
/// dropped: then it expires by itself).
pub struct StartupLease {
    store: Store,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
}

impl StartupLease {
    /// Waits (at most `max_wait`) until this replica, `holder`, holds the lease.
    pub async fn acquire(
        store: &Store,
        holder: &str,
        max_wait: Duration,
    ) -> Result<Self, StartupError> {
        let ttl = LEASE_TTL.as_millis() as i64;
        let started = std::time::Instant::now();
        while !store
            .try_lease(STARTUP_LEASE, holder, SystemClock.now_ms(), ttl)
            .await?
        {
            if started.elapsed() >= max_wait {
                return Err(StartupError::Timeout(max_wait));
            }
            tracing::info!("another replica is doing the start-up work; waiting for it");
            tokio::time::sleep(POLL_EVERY).await;
        }
        let (renewing, name) = (store.clone(), holder.to_owned());
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let now = SystemClock.now_ms();
                if let Err(e) = renewing.try_lease(STARTUP_LEASE, &name, now, ttl).await {
                    tracing::warn!("start-up lease not renewed: {e}");
                }
            }
        });
        Ok(Self {
            store: store.clone(),
            holder: holder.to_owned(),
            renew,
        })
    }

    /// Gives the lease back: a waiting replica takes it at once.
    pub async fn release(self) -> Result<(), StoreError> {
        self.renew.abort();
        self.store.release_lease(STARTUP_LEASE, &self.holder).await
    }
}

impl Drop for StartupLease {
    fn drop(&mut self) {
        self.renew.abort();
    }
}
