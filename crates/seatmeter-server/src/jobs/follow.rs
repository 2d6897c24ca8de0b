//! The cache follower: forgets what other servers on the same database
//! changed (see [`crate::app::recent`]), and once an hour deletes old
//! change rows.

pub use crate::app::recent::Follower;
use crate::app::recent::{self, ALL};
use crate::app::{Error, Services};

/// Reads the changes of other servers since the last step and forgets what
/// depends on them; once an hour, deletes change rows older than an hour.
/// If the changes cannot be read, forgets everything rather than answer
/// from what may be stale.
pub async fn step(services: &Services, follower: &mut Follower, now: i64) -> Result<usize, Error> {
    let read = recent::follow(&services.db, &services.kept, follower, now).await;
    if read.is_err() {
        services.kept.forget(ALL);
    }
    recent::prune(&services.db, follower, now).await?;
    Ok(read?)
}
