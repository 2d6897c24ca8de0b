//! Joining worker threads without losing what they did.
//!
//! A worker that panicked computed nothing; taking a default in its place
//! (`join().unwrap_or_default()`) would quietly lower a license count. So
//! every join goes through [`joined`], which carries a worker's panic on to
//! the thread that waits for it, and the run fails.

use std::thread::ScopedJoinHandle;

/// What the worker returned; if it panicked, the same panic, here.
pub fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_panics_makes_its_join_panic_too() {
        let outcome = std::panic::catch_unwind(|| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..3)
                    .map(|i| {
                        scope.spawn(move || {
                            if i == 1 {
                                panic!("worker {i} failed");
                            }
                            vec![i; 2]
                        })
                    })
                    .collect();
                handles.into_iter().map(joined).collect::<Vec<Vec<u32>>>()
            })
        });
        let panic = outcome.expect_err("a lost worker's result must not be replaced by a default");
        let message = panic.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        assert!(message.contains("worker 1 failed"), "{message}");
    }

    #[test]
    fn workers_that_finish_give_their_results_in_order() {
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4).map(|i| scope.spawn(move || i * 10)).collect();
            handles.into_iter().map(joined).collect::<Vec<u32>>()
        });
        assert_eq!(results, [0, 10, 20, 30]);
    }
}
