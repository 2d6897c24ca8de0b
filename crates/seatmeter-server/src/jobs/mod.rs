//! Background work, and the one scheduler that decides when it runs.
//!
//! Each job is a step function `(services, now)` that does what is due at
//! `now` and returns; tests call the steps directly with a manual clock
//! instead of sleeping. [`spawn`] is the scheduler: it runs each step on
//! its period, reading the time from the services' clock, and logs a
//! failed step (which is tried again at the next tick; every step is
//! idempotent and safe with several servers on one database).
//!
//! | job | period | step |
//! |---|---|---|
//! | follow other servers' changes (the cache follower) | 100 ms | [`follow::step`] |
//! | end meetings past their maximum duration | 1 min | [`sweep::step`] |
//! | synchronise with the license authority | 1 min, then | [`sync::step`] |
//! | the daily compliance audits | … in this order | [`audit::step`] |
//! | deliver the e-mail outbox | … each minute | [`outbox::step`] |

pub mod audit;
pub mod follow;
pub mod outbox;
pub mod sweep;
pub mod sync;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{Error, Services};

/// A step's future: how many things it did (0: nothing was due).
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<usize, Error>> + Send + 'a>>;

type Step = Box<dyn for<'a> FnMut(&'a Services, i64) -> StepFuture<'a> + Send>;

/// A job: how often it runs, how long after the start it first runs, and
/// its steps, each with its name for the log, run in order at each tick.
struct Job {
    every: Duration,
    first_after: Duration,
    steps: Vec<(&'static str, Step)>,
}

impl Job {
    fn spawn(mut self, services: Services) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + self.first_after;
            let mut ticks = tokio::time::interval_at(start, self.every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                for (name, step) in &mut self.steps {
                    // Each step reads the time when it begins: the ones before may have taken a while.
                    match step(&services, services.clock.now()).await {
                        Ok(0) => {}
                        // The cache follower's work is routine; the others' is worth a line.
                        Ok(done) if *name == "follow" => {
                            tracing::debug!(job = *name, done, "forgot what others changed")
                        }
                        Ok(done) => tracing::info!(job = *name, done, "background job did its due work"),
                        Err(error) => {
                            tracing::warn!(job = *name, %error, "background job failed; will try again")
                        }
                    }
                }
            }
        })
    }
}

/// The running jobs of a server.
pub struct Jobs(Vec<tokio::task::JoinHandle<()>>);

impl Jobs {
    /// Stops every job (a step in progress is abandoned; each is idempotent).
    pub fn stop(self) {
        for job in self.0 {
            job.abort();
        }
    }
}

/// Starts every background job of a server: the scheduler.
pub fn spawn(services: &Services) -> Jobs {
    let minute = Duration::from_secs(60);
    let follower = Arc::new(tokio::sync::Mutex::new(follow::Follower::default()));
    let jobs = [
        // What other servers changed is forgotten within about 100 ms.
        Job {
            every: Duration::from_millis(100),
            first_after: Duration::ZERO,
            steps: vec![(
                "follow",
                Box::new(move |s, now| {
                    let follower = follower.clone();
                    Box::pin(async move { follow::step(s, &mut *follower.lock().await, now).await })
                }),
            )],
        },
        Job {
            every: minute,
            first_after: Duration::ZERO,
            steps: vec![("sweep", Box::new(|s, now| Box::pin(sweep::step(s, now))))],
        },
        // Licensing: a synchronisation before the audit that reads it, and
        // the e-mail the audit queued right after.
        Job {
            every: minute,
            first_after: minute,
            steps: vec![
                ("sync", Box::new(|s, now| Box::pin(sync::step(s, now)))),
                ("audit", Box::new(|s, now| Box::pin(audit::step(s, now)))),
                ("outbox", Box::new(|s, now| Box::pin(outbox::step(s, now)))),
            ],
        },
    ];
    Jobs(jobs.into_iter().map(|job| job.spawn(services.clone())).collect())
}
