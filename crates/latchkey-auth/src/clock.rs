//! Time sources for token validity and JWKS cache ages.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the verifier reads the time.
///
/// Token `exp`/`nbf` are compared with [`Clock::unix_seconds`]; JWKS cache ages and the
/// refresh interval use [`Clock::monotonic`], which must never go backwards.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
    /// Time elapsed since an arbitrary fixed origin.
    fn monotonic(&self) -> Duration;
}

/// The system clock: wall time for tokens, a monotonic [`Instant`] for the cache.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        // A clock set before 1970 reads as the epoch, so every token looks expired.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_reads_sensible_values() {
        let clock = SystemClock::new();
        // 2024-01-01T00:00:00Z.
        assert!(clock.unix_seconds() > 1_704_067_200);
        let a = clock.monotonic();
        let b = clock.monotonic();
        assert!(b >= a);
    }
}
