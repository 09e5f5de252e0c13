//! Rate limits per API key, per end user and per wallet (GCRA, through `governor`): a
//! request over a limit gets `429 RATE_LIMITED` with `Retry-After`. Limits are per process;
//! with several processes behind a load balancer each enforces its own share.

use latchkey_core::codes;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ApiError;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once on top of an idle bucket.
    pub burst: u32,
}

impl Rate {
    /// `per_second` sustained, `burst` at once.
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }

    fn quota(self) -> Quota {
        let rate = NonZeroU32::new(self.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.burst.max(self.per_second).max(1)).unwrap_or(rate);
        Quota::per_second(rate).allow_burst(burst)
    }
}

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Every authenticated request, per API key (public key).
    pub per_api_key: Rate,
    /// Every request made with an end-user token, per (organisation, subject).
    pub per_user: Rate,
    /// Every request about one wallet, per wallet.
    pub per_wallet: Rate,
    /// PIN evaluations (OPRF), per wallet address and per end user, on top of the
    /// durable attempt counter.
    pub pin_evaluations: Rate,
    /// Calls to the read-only chain endpoints (`/rpc/…`), per client address.
    pub per_rpc_client: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_api_key: Rate::new(1000, 2000),
            per_user: Rate::new(50, 100),
            per_wallet: Rate::new(50, 100),
            pin_evaluations: Rate::new(1, 5),
            per_rpc_client: Rate::new(50, 100),
        }
    }
}

/// Keys remembered by a limiter before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// The limiters of a server.
pub struct Limiters {
    per_api_key: DefaultKeyedRateLimiter<String>,
    per_user: DefaultKeyedRateLimiter<String>,
    per_wallet: DefaultKeyedRateLimiter<String>,
    pin_per_wallet: DefaultKeyedRateLimiter<String>,
    pin_per_user: DefaultKeyedRateLimiter<String>,
    per_rpc_client: DefaultKeyedRateLimiter<String>,
    limits: RateLimits,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Limiters {
    /// Limiters for `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            per_api_key: RateLimiter::keyed(limits.per_api_key.quota()),
            per_user: RateLimiter::keyed(limits.per_user.quota()),
            per_wallet: RateLimiter::keyed(limits.per_wallet.quota()),
            pin_per_wallet: RateLimiter::keyed(limits.pin_evaluations.quota()),
            pin_per_user: RateLimiter::keyed(limits.pin_evaluations.quota()),
            per_rpc_client: RateLimiter::keyed(limits.per_rpc_client.quota()),
            limits,
        }
    }

    /// Counts a request of the API key with store id `key_id`.
    pub fn check_api_key(&self, key_id: &str) -> Result<(), ApiError> {
        check(&self.per_api_key, key_id.to_string(), "this API key")
    }

    /// Counts a request of end user `subject` of `org_id`.
    pub fn check_user(&self, org_id: &str, subject: &str) -> Result<(), ApiError> {
        check(&self.per_user, format!("{org_id}\n{subject}"), "this end user")
    }

    /// Counts a PIN evaluation for `address` of `org_id`, and for the end user asking.
    pub fn check_pin(
        &self,
        org_id: &str,
        address: &str,
        subject: Option<&str>,
    ) -> Result<(), ApiError> {
        check(&self.pin_per_wallet, format!("{org_id}\n{address}"), "PIN unlocks of this wallet")?;
        match subject {
            Some(subject) => check(
                &self.pin_per_user,
                format!("{org_id}\n{subject}"),
                "PIN unlocks of this end user",
            ),
            None => Ok(()),
        }
    }

    /// Counts a call to a read-only chain endpoint from `client` (its address).
    pub fn check_rpc_client(&self, client: &str) -> Result<(), ApiError> {
        check(&self.per_rpc_client, client.to_string(), "this client's chain reads")
    }

    /// Counts a request about the wallet with store id `wallet_id`.
    pub fn check_wallet(&self, wallet_id: &str) -> Result<(), ApiError> {
        check(&self.per_wallet, wallet_id.to_string(), "this wallet")
    }
}

fn check(
    limiter: &DefaultKeyedRateLimiter<String>,
    key: String,
    whose: &str,
) -> Result<(), ApiError> {
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    match limiter.check_key(&key) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.max(Duration::from_millis(1)).as_secs_f64().ceil() as u64;
            Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                format!("too many requests for {whose}; retry in {seconds} s"),
            )
            .with_retry_after(seconds))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_refusal_with_retry_after() {
        let limiters = Limiters::new(RateLimits {
            per_api_key: Rate::new(1, 3),
            per_user: Rate::new(1, 1),
            per_wallet: Rate::new(1, 2),
            pin_evaluations: Rate::new(1, 2),
            per_rpc_client: Rate::new(1, 2),
        });
        for _ in 0..3 {
            limiters.check_api_key("k").unwrap();
        }
        // PIN evaluations: per wallet address, and per end user across wallets.
        limiters.check_pin("org", "0x1", Some("alice")).unwrap();
        limiters.check_pin("org", "0x1", Some("bob")).unwrap();
        assert!(limiters.check_pin("org", "0x1", None).is_err());
        limiters.check_pin("org", "0x2", Some("alice")).unwrap();
        assert!(limiters.check_pin("org", "0x3", Some("alice")).is_err());
        let refused = limiters.check_api_key("k").unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.code), (429, "RATE_LIMITED"));
        assert!(refused.retry_after.is_some_and(|s| (1..=2).contains(&s)), "{refused:?}");
        // Keys are independent.
        limiters.check_api_key("other").unwrap();
        limiters.check_user("org", "alice").unwrap();
        assert!(limiters.check_user("org", "alice").is_err());
        limiters.check_user("org", "bob").unwrap();
        limiters.check_wallet("w").unwrap();
        limiters.check_wallet("w").unwrap();
        assert!(limiters.check_wallet("w").is_err());
    }
}
