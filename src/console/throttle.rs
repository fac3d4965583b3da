//! Sign-in attempts, limited per client address: a small token bucket for each address (an IPv6
//! client by its /64, which one host usually has whole), so that guessing tokens through the
//! console is as slow as it is pointless. The bucket is looked at before the token is, so a
//! refusal says nothing about the token; every attempt counts, right or wrong.
//!
//! The address is the TCP peer's. Behind a proxy every browser shares the proxy's bucket: the
//! limit then holds for all of them together (the console reads no `X-Forwarded-For`, which any
//! client could forge).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts an address may make at once.
pub const BURST: u32 = 10;
/// One more attempt comes back this often (6 a minute once the burst is spent).
pub const REFILL: Duration = Duration::from_secs(10);
/// Addresses remembered at once; past it the ones whose buckets are full again are forgotten,
/// and if that is not enough, everything (a flood from that many addresses is not one guesser).
const CAPACITY: usize = 50_000;

#[derive(Clone, Copy)]
struct Bucket {
    /// Attempts left, as of `at`.
    left: f64,
    at: Instant,
}

#[derive(Default)]
pub struct SignInLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl SignInLimiter {
    /// Takes one attempt from `address`'s bucket; when it is empty, how long until the next one.
    pub fn attempt(&self, address: IpAddr) -> Result<(), Duration> {
        self.attempt_at(address, Instant::now())
    }

    fn attempt_at(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = bucket_of(address);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= CAPACITY && !buckets.contains_key(&key) {
            buckets.retain(|_, bucket| refilled(*bucket, now) < f64::from(BURST));
            if buckets.len() >= CAPACITY {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            left: f64::from(BURST),
            at: now,
        });
        let left = refilled(*bucket, now);
        if left >= 1.0 {
            *bucket = Bucket {
                left: left - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { left, at: now };
            Err(REFILL.mul_f64(1.0 - left))
        }
    }
}

fn refilled(bucket: Bucket, now: Instant) -> f64 {
    let earned = now.duration_since(bucket.at).as_secs_f64() / REFILL.as_secs_f64();
    (bucket.left + earned).min(f64::from(BURST))
}

/// The key of an address: itself for IPv4, its /64 for IPv6 (an IPv4-mapped one as IPv4).
fn bucket_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_a_burst_then_one_attempt_per_refill() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..BURST {
            assert!(limiter.attempt_at(one, start).is_ok());
        }
        let wait = limiter.attempt_at(one, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL, "{wait:?}");
        // Another address has a bucket of its own.
        assert!(limiter.attempt_at(other, start).is_ok());
        // One refill later, one more attempt, and not two.
        let later = start + REFILL;
        assert!(limiter.attempt_at(one, later).is_ok());
        assert!(limiter.attempt_at(one, later).is_err());
    }

    #[test]
    fn an_ipv6_host_is_one_bucket_for_its_whole_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket_of(a), bucket_of(b));
        assert_ne!(bucket_of(a), bucket_of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(bucket_of(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
