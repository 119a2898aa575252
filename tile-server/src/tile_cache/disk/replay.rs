//! The disk tier against the change log (migration 0060): the catch-up once a
//! listener listens, and the checkpoints that move `state.json` forward while it
//! does. See the [parent module](super) for why.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{DiskTier, ADVANCE_EVERY, ADVANCE_IDLE, MARK_PREFIX, MAX_CATCH_UP, RETRY, TRUST_SECS};
use crate::db::tiles as tiles_db;
use crate::db::StoreError;
use crate::tile_cache::notice::Notice;

/// What `state.json` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    /// `tile_store.id` of the database the tiles were drawn from.
    store: String,
    /// Every change this snapshot sees has been applied to the directory.
    snapshot: String,
    /// When the snapshot was taken (database clock, seconds since 1970).
    saved_at: i64,
}

/// Whether `text` looks like `pg_snapshot` text (`xmin:xmax:xip,...`).
fn valid_snapshot(text: &str) -> bool {
    let mut parts = text.split(':');
    let num = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    num(parts.next())
        && num(parts.next())
        && parts.next().is_some_and(|xip| xip.is_empty() || xip.split(',').all(|x| num(Some(x))))
        && parts.next().is_none()
}

impl DiskTier {
    fn read_state(&self) -> Option<State> {
        let text = std::fs::read_to_string(self.root.join("state.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write_state(&self, state: &State) -> io::Result<()> {
        let temp = self.temp_path();
        std::fs::write(&temp, serde_json::to_vec(state).map_err(io::Error::other)?)?;
        std::fs::rename(&temp, self.root.join("state.json"))
    }

    /// Starts the catch-up for `epoch` (from [`DiskTier::suspend`], once a listener
    /// listens) on the current Tokio runtime, then checkpoints every
    /// [`ADVANCE_EVERY`] until the epoch moves on or the tier is dropped.
    pub fn resume(self: &Arc<Self>, epoch: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let weak = Arc::downgrade(self);
        runtime.spawn(async move {
            let current = |tier: &DiskTier| tier.epoch.load(Ordering::SeqCst) == epoch;
            loop {
                let Some(tier) = weak.upgrade().filter(|t| current(t)) else { return };
                match tier.catch_up().await {
                    Ok(()) => {
                        // Epochs only grow: a late finish of an older catch-up never
                        // marks a newer epoch ready.
                        tier.ready.fetch_max(epoch, Ordering::SeqCst);
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "tile cache directory not caught up; retrying"),
                }
                drop(tier);
                tokio::time::sleep(RETRY).await;
            }
            let (mut seen, mut since) = (u64::MAX, std::time::Instant::now());
            loop {
                tokio::time::sleep(ADVANCE_EVERY).await;
                let Some(tier) = weak.upgrade().filter(|t| current(t)) else { return };
                let applied = tier.applied.load(Ordering::Relaxed);
                if applied == seen && since.elapsed() < ADVANCE_IDLE {
                    continue;
                }
                match tier.checkpoint().await {
                    Ok(_) => (seen, since) = (applied, std::time::Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "tile cache directory checkpoint failed"),
                }
            }
        });
    }

    /// Sends a checkpoint's mark (see the module documentation); the record is
    /// written when the listener hands the mark to [`DiskTier::on_mark`]. Returns
    /// the mark's token, `None` while the disk is not caught up.
    pub async fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        if !self.is_ready() {
            return Ok(None);
        }
        let position = tiles_db::log_position(&self.pool).await?;
        let token = position.token.clone();
        let state = State { store: position.store, snapshot: position.snapshot, saved_at: position.now };
        *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((token.clone(), epoch, state));
        tiles_db::notify_tiles(&self.pool, &format!("{MARK_PREFIX}{token}")).await?;
        Ok(Some(token))
    }

    /// A mark came back through the listener: record the checkpoint it closes.
    pub fn on_mark(&self, token: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ours = pending.as_ref().is_some_and(|(t, _, _)| t == token);
        if !ours {
            return; // another instance's, or superseded
        }
        if let Some((_, epoch, state)) = pending.take() {
            if epoch == self.epoch.load(Ordering::SeqCst) && self.is_ready() {
                if let Err(e) = self.write_state(&state) {
                    tracing::warn!(error = %e, "cannot record the tile cache directory's position");
                }
            }
        }
    }

    /// Whether the checkpoint of `token` has been recorded (or dropped).
    pub fn mark_done(&self, token: &str) -> bool {
        let pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.as_ref().is_none_or(|(t, _, _)| t != token)
    }

    /// Applies the change-log entries the directory has not seen (see the module
    /// documentation) and records the new snapshot.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let position = tiles_db::log_position(&self.pool).await?;
        let saved = self.read_state().filter(|s| {
            s.store == position.store && s.saved_at >= position.now - TRUST_SECS && valid_snapshot(&s.snapshot)
        });
        let missed = match &saved {
            Some(s) => tiles_db::changes_since(&self.pool, &s.snapshot, MAX_CATCH_UP as i64 + 1).await?,
            None => None,
        };
        match missed {
            Some(payloads) if payloads.len() <= MAX_CATCH_UP => {
                let notices: Result<Vec<Notice>, String> = payloads.iter().map(|p| Notice::parse(p)).collect();
                match notices {
                    Ok(notices) => notices.iter().for_each(|n| self.apply(n)),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable tile change log entry: emptying the tile cache directory");
                        self.wipe();
                    }
                }
            }
            _ => {
                if saved.is_some() {
                    tracing::info!("tile change log does not reach back far enough: emptying the tile cache directory");
                }
                self.wipe();
            }
        }
        let state = State { store: position.store, snapshot: position.snapshot, saved_at: position.now };
        if let Err(e) = self.write_state(&state) {
            // The older record (or none) stays: the next start replays more, or empties the directory.
            tracing::warn!(error = %e, "cannot record the tile cache directory's position");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_checked_before_they_reach_the_database() {
        for ok in ["10:20:", "10:20:11,15", "1:1:"] {
            assert!(valid_snapshot(ok), "{ok}");
        }
        for bad in ["", "10:20", "a:20:", "10:20:x", "10:20:1,,2", "10:20::", "10:20:1;drop"] {
            assert!(!valid_snapshot(bad), "{bad}");
        }
    }
}
