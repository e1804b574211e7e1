//! One run at a time per bucket prefix: the object `PREFIX/.wecom-attendance.lock` (the local
//! lock file's name), created with a conditional put (`If-None-Match: *`) before the first
//! object of the run is written, and deleted when the run ends.
//!
//! A bucket has no process that dies with its holder, so the object holds a lease: the run
//! renews it every third of [`LEASE`], and a run that finds a lease expired (its holder was
//! killed) takes the lock over with a put conditional on the old object's ETag, so of two
//! runs taking over one wins. With `conditional_put = false` there is no lock object: the
//! operator makes sure two runs never write one prefix at once.

use crate::fetch::lock::LockHeld;
use crate::output::bucket::Conn;
use crate::output::place::OutputLock;
use anyhow::{Context, Result};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use std::time::Duration;

/// The lock object's name under the prefix.
pub const LOCK_KEY: &str = ".wecom-attendance.lock";
/// How long a lock stays valid without renewal: a killed run blocks the prefix this long.
pub const LEASE: Duration = Duration::from_secs(600);
/// Takeovers tried when other runs race for an expired lock.
const ATTEMPTS: usize = 3;

/// What the lock object holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Lease {
    /// The holder: command, job, run id, process and host.
    holder: String,
    /// Unix seconds after which the lock may be taken over.
    expires_at: i64,
}

impl Lease {
    fn new(holder: &str) -> Lease {
        Lease {
            holder: holder.to_string(),
            expires_at: chrono::Utc::now().timestamp() + LEASE.as_secs() as i64,
        }
    }

    fn payload(&self) -> PutPayload {
        PutPayload::from(serde_json::to_vec(self).expect("a lease serializes"))
    }
}

/// The lock while held: renewed in the background, deleted when dropped.
struct Held {
    conn: Conn,
    renewal: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewal.abort();
        let (store, path) = (self.conn.store.clone(), self.conn.path(LOCK_KEY));
        if let Err(e) = self
            .conn
            .call("delete", LOCK_KEY, async move { store.delete(&path).await })
        {
            tracing::warn!("the lock was not released (it expires with its lease): {e:#}");
        }
    }
}

/// Takes the prefix's lock for `holder`, or fails with [`LockHeld`] naming the holder and the
/// end of its lease.
pub fn acquire(conn: &Conn, holder: &str) -> Result<OutputLock> {
    if !conn.cfg.conditional_put {
        return Ok(OutputLock::new(()));
    }
    let holder = format!(
        "{holder}, pid {} on {}",
        std::process::id(),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "an unknown host".into())
    );
    for _ in 0..ATTEMPTS {
        let (store, path) = (conn.store.clone(), conn.path(LOCK_KEY));
        let lease = Lease::new(&holder).payload();
        let created = conn.rt.run(async move {
            store
                .put_opts(&path, lease, PutOptions::from(PutMode::Create))
                .await
        });
        let version = match created {
            Some(Ok(r)) => UpdateVersion::from(r),
            Some(Err(object_store::Error::AlreadyExists { .. })) => {
                match take_over_if_expired(conn, &holder)? {
                    Some(v) => v,
                    None => continue,
                }
            }
            Some(Err(e)) => return Err(conn.fail("create the lock", LOCK_KEY, &e)),
            None => anyhow::bail!("the object store's runtime stopped"),
        };
        let renewal = conn.rt.spawn(renew(conn.clone(), holder.clone(), version));
        return Ok(OutputLock::new(Held {
            conn: conn.clone(),
            renewal,
        }));
    }
    anyhow::bail!(
        "cannot take the lock {}: other runs keep taking it",
        conn.location(LOCK_KEY).display()
    )
}

/// Reads the existing lock: a live lease is [`LockHeld`]; an expired one is replaced by ours
/// if nobody replaced it first (then `None`: try again).
fn take_over_if_expired(conn: &Conn, holder: &str) -> Result<Option<UpdateVersion>> {
    let (store, path) = (conn.store.clone(), conn.path(LOCK_KEY));
    let found = conn.rt.run(async move {
        let got = store.get(&path).await?;
        let meta = got.meta.clone();
        Ok::<_, object_store::Error>((got.bytes().await?, meta))
    });
    let (bytes, meta) = match found {
        Some(Ok(found)) => found,
        // Released meanwhile: try to create it again.
        Some(Err(object_store::Error::NotFound { .. })) => return Ok(None),
        Some(Err(e)) => return Err(conn.fail("read the lock", LOCK_KEY, &e)),
        None => anyhow::bail!("the object store's runtime stopped"),
    };
    let lease: Option<Lease> = serde_json::from_slice(&bytes).ok();
    let now = chrono::Utc::now().timestamp();
    if let Some(l) = &lease
        && l.expires_at > now
    {
        let until = chrono::DateTime::from_timestamp(l.expires_at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        return Err(LockHeld {
            path: conn.location(LOCK_KEY),
            holder: format!(
                "{} (lease until {until}, renewed while it runs; a killed run's lease expires)",
                l.holder
            ),
        }
        .into());
    }
    let previous = lease.map_or_else(|| "an unreadable lock".into(), |l| l.holder);
    let (store, path) = (conn.store.clone(), conn.path(LOCK_KEY));
    let ours = Lease::new(holder).payload();
    let old = UpdateVersion {
        e_tag: meta.e_tag,
        version: meta.version,
    };
    let taken = conn.rt.run(async move {
        store
            .put_opts(&path, ours, PutOptions::from(PutMode::Update(old)))
            .await
    });
    match taken {
        Some(Ok(r)) => {
            tracing::warn!(
                lock = %conn.location(LOCK_KEY).display(),
                %previous,
                "took over a lock whose lease had expired (its run was stopped)"
            );
            Ok(Some(UpdateVersion::from(r)))
        }
        // Another run took it over first.
        Some(Err(
            object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
        )) => Ok(None),
        Some(Err(e)) => Err(conn.fail("take over the lock", LOCK_KEY, &e)),
        None => anyhow::bail!("the object store's runtime stopped"),
    }
    .context("taking over an expired lock")
}

/// Renews the lease every third of [`LEASE`] for as long as the run holds the lock.
async fn renew(conn: Conn, holder: String, mut version: UpdateVersion) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        let path = conn.path(LOCK_KEY);
        let mode = PutMode::Update(version.clone());
        match conn
            .store
            .put_opts(&path, Lease::new(&holder).payload(), PutOptions::from(mode))
            .await
        {
            Ok(r) => version = UpdateVersion::from(r),
            Err(e) => {
                tracing::warn!(
                    "cannot renew the lock: {:#}",
                    conn.fail("renew the lock", LOCK_KEY, &e)
                );
            }
        }
    }
}
