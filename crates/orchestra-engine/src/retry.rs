//! How long to wait before trying a failed step again: a pure function of the attempt.

use std::time::Duration;

use crate::plan::RetryPolicy;

/// The wait after attempt `failed` (from 1) fails, before the next attempt. `chance` is a number
/// in `[0, 1)` from the run's random source; with jitter the wait is spread over its upper half
/// (`delay/2 + chance·delay/2`), so that steps that failed together do not retry together, and
/// the wait never drops below half the computed delay.
///
/// Exponential backoff doubles the delay each attempt (`delay`, `2·delay`, `4·delay`, …) up to
/// `max_delay`; fixed backoff waits `delay` every time.
pub fn retry_delay(policy: &RetryPolicy, failed: u32, chance: f64) -> Duration {
    let base = policy.delay.millis();
    let cap = policy.max_delay.millis().max(base);
    let millis = if policy.exponential {
        let doublings = failed.saturating_sub(1).min(63);
        base.saturating_mul(1_u64 << doublings).min(cap)
    } else {
        base.min(cap)
    };
    let millis = if policy.jitter {
        let chance = chance.clamp(0.0, 1.0);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        // Waits are far below 2^52 milliseconds, and the product is non-negative.
        let spread = ((millis as f64) * chance / 2.0) as u64;
        millis / 2 + spread
    } else {
        millis
    };
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestra_pipeline::model::Duration as Written;

    fn policy(exponential: bool, jitter: bool) -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            exponential,
            delay: Written::from_millis(1_000),
            max_delay: Written::from_millis(5_000),
            jitter,
        }
    }

    fn millis(policy: &RetryPolicy, failed: u32, chance: f64) -> u128 {
        retry_delay(policy, failed, chance).as_millis()
    }

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        let policy = policy(true, false);
        let waits: Vec<u128> = (1..=6)
            .map(|attempt| millis(&policy, attempt, 0.7))
            .collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
        assert_eq!(
            millis(&policy, 200, 0.0),
            5_000,
            "a huge attempt number does not overflow"
        );
    }

    #[test]
    fn fixed_backoff_waits_the_same_every_time() {
        let policy = policy(false, false);
        assert!((1..=5).all(|attempt| millis(&policy, attempt, 0.3) == 1_000));
    }

    #[test]
    fn jitter_spreads_the_wait_over_its_upper_half() {
        let policy = policy(true, true);
        assert_eq!(
            millis(&policy, 2, 0.0),
            1_000,
            "the least is half the delay"
        );
        assert_eq!(millis(&policy, 2, 0.5), 1_500);
        assert_eq!(
            millis(&policy, 2, 0.999),
            1_999,
            "the most stays below the delay"
        );
        assert_eq!(
            millis(&policy, 2, 7.0),
            2_000,
            "an out-of-range chance is clamped"
        );
    }
}
