//! Admission control: a cap on concurrent queries (a semaphore; waiting requests queue
//! for a while, then get 429) and per-key request rates (token buckets; 429 with
//! `Retry-After`).

use crate::failure::Failure;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct Limits {
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    per_minute: Option<u32>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Limits {
    pub fn new(max_concurrent: usize, queue_timeout: Duration, per_minute: Option<u32>) -> Limits {
        Limits {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            queue_timeout,
            per_minute: per_minute.filter(|n| *n > 0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `who`'s bucket, or says when the next one is available.
    pub fn check_rate(&self, who: &str) -> Result<(), Failure> {
        let Some(per_minute) = self.per_minute else {
            return Ok(());
        };
        let capacity = per_minute as f64;
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            // Forget idle principals (full buckets carry no information).
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < capacity
            });
        }
        let b = buckets.entry(who.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / per_sec).ceil().max(1.0) as u64;
            Err(Failure::RateLimited {
                retry_after_secs: wait,
            })
        }
    }

    /// Waits for a query slot (dropping the future gives up the place in the queue).
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Failure> {
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Failure::Busy {
                retry_after_secs: 5,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_refuses_and_says_when() {
        let l = Limits::new(1, Duration::from_secs(1), Some(2));
        assert!(l.check_rate("k").is_ok());
        assert!(l.check_rate("k").is_ok());
        match l.check_rate("k") {
            Err(Failure::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("{other:?}"),
        }
        assert!(l.check_rate("other").is_ok());
    }

    #[tokio::test]
    async fn busy_after_queue_timeout() {
        let l = Limits::new(1, Duration::from_millis(20), None);
        let _p = l.acquire().await.unwrap();
        assert!(matches!(l.acquire().await, Err(Failure::Busy { .. })));
    }
}
