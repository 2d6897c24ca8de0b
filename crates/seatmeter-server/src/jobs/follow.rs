//! The cache follower: forgets what other servers on the same database
//! changed (see [`crate::recent`]), and once an hour deletes old change rows.

use crate::app::{Error, Services};
pub use crate::recent::Follower;

/// Reads the changes of other servers since the last step and forgets what
/// depends on them; once an hour, deletes change rows older than an hour.
/// If the changes cannot be read, forgets everything rather than answer
/// from what may be stale.
pub async fn step(services: &Services, follower: &mut Follower, now: i64) -> Result<usize, Error> {
    let read = crate::recent::follow_changes(&services.db, &services.kept, follower, now).await;
    if read.is_err() {
        services.kept.forget(crate::recent::ALL);
    }
    if now - follower.pruned_at > 3_600_000 {
        follower.pruned_at = now;
        crate::recent::prune_changes(&services.db, now).await?;
    }
    Ok(read?)
}
