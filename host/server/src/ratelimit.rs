//! Failed-login rate limits, per account and per client address.
//!
//! Each key (an account's email, a client address) keeps the times of its failed logins
//! within the window, at most `limit` of them: once it holds `limit` failures younger than
//! the window, further attempts are refused with a 429 until the oldest leaves the window
//! (`Retry-After`). The check runs before the password hash is verified, so refused attempts
//! cost no argon2 time. An attempt is counted when it starts and uncounted when it succeeds,
//! so concurrent guesses cannot slip past the check together; a successful login also clears
//! its account's failures (not its address's: one's own account must not reset a guessing
//! address).
//!
//! Memory is bounded: keys are 64-bit hashes (a long email costs nothing), each holds at most
//! `limit` instants, entries whose failures have all left the window are pruned, and each map
//! holds at most [`MAX_KEYS`] keys (the stalest goes first).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::config::Limits;
use crate::error::AppError;

/// Keys one map keeps at most.
pub const MAX_KEYS: usize = 100_000;

/// Failures of one kind of key (accounts, or addresses).
struct Window {
    limit: usize,
    window: Duration,
    failures: HashMap<u64, VecDeque<Instant>>,
    /// When the map was last swept for expired entries.
    swept: Instant,
}

impl Window {
    fn new(limit: u32, window: Duration) -> Self {
        Window { limit: limit.max(1) as usize, window, failures: HashMap::new(), swept: Instant::now() }
    }

    /// How long `key` must wait, if it is over the limit now.
    fn blocked(&mut self, key: u64, now: Instant) -> Option<Duration> {
        let times = self.failures.get_mut(&key)?;
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() < self.limit {
            return None;
        }
        let oldest = *times.front().expect("at least `limit` entries");
        Some((oldest + self.window).saturating_duration_since(now).max(Duration::from_millis(1)))
    }

    fn record(&mut self, key: u64, now: Instant) {
        self.sweep(now);
        let times = self.failures.entry(key).or_default();
        times.push_back(now);
        while times.len() > self.limit {
            times.pop_front();
        }
    }

    /// Takes back one failure recorded at `at` (the attempt succeeded).
    fn unrecord(&mut self, key: u64, at: Instant) {
        if let Some(times) = self.failures.get_mut(&key) {
            if let Some(i) = times.iter().rposition(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.failures.remove(&key);
            }
        }
    }

    fn clear(&mut self, key: u64) {
        self.failures.remove(&key);
    }

    /// Drops entries with no failure inside the window (at most once per window, or when the
    /// map is full), then, if it is still full, the stalest tenth (so a full map is swept once
    /// per `MAX_KEYS / 10` new keys, not on every one).
    fn sweep(&mut self, now: Instant) {
        let full = self.failures.len() >= MAX_KEYS;
        if full || now.duration_since(self.swept) >= self.window {
            let window = self.window;
            self.failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
            self.swept = now;
        }
        if self.failures.len() >= MAX_KEYS {
            let mut by_age: Vec<(Instant, u64)> = self.failures.iter().filter_map(|(k, t)| Some((*t.back()?, *k))).collect();
            let cut = MAX_KEYS / 10;
            by_age.select_nth_unstable(cut);
            for (_, key) in &by_age[..cut] {
                self.failures.remove(key);
            }
        }
    }

    fn len(&self) -> usize {
        self.failures.len()
    }
}

struct Inner {
    accounts: Window,
    addresses: Window,
}

/// The login limiter of one server process (`AppState::login_limiter`).
pub struct LoginLimiter {
    inner: Mutex<Inner>,
    hasher: RandomState,
}

/// A login attempt in progress, counted as a failure unless [`Attempt::succeeded`] is called.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    account: u64,
    address: Option<u64>,
    at: Instant,
}

impl LoginLimiter {
    pub fn new(limits: &Limits) -> Self {
        LoginLimiter {
            inner: Mutex::new(Inner {
                accounts: Window::new(limits.login_attempts_per_account, limits.login_window),
                addresses: Window::new(limits.login_attempts_per_address, limits.login_window),
            }),
            hasher: RandomState::new(),
        }
    }

    fn account_key(&self, email: &str) -> u64 {
        self.hasher.hash_one(("account", email.trim().to_lowercase()))
    }

    fn address_key(&self, address: IpAddr) -> u64 {
        self.hasher.hash_one(("address", address_block(address)))
    }

    /// Starts a login for `email` from `address` (`None`: unknown, e.g. in-process tests),
    /// or a 429 saying how long to wait.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<Attempt<'_>, AppError> {
        let account = self.account_key(email);
        let address = address.map(|a| self.address_key(a));
        let now = Instant::now();
        let mut inner = self.inner.lock().expect("limiter lock");
        if let Some(wait) = inner.accounts.blocked(account, now) {
            return Err(too_many("for this account", wait));
        }
        if let Some(wait) = address.and_then(|a| inner.addresses.blocked(a, now)) {
            return Err(too_many("from your address", wait));
        }
        inner.accounts.record(account, now);
        if let Some(a) = address {
            inner.addresses.record(a, now);
        }
        Ok(Attempt { limiter: self, account, address, at: now })
    }

    /// Accounts and addresses currently tracked (for tests of the memory bound).
    pub fn tracked(&self) -> (usize, usize) {
        let inner = self.inner.lock().expect("limiter lock");
        (inner.accounts.len(), inner.addresses.len())
    }
}

impl Attempt<'_> {
    /// The password was right: the account's failures are forgotten, and this attempt is not
    /// held against the address.
    pub fn succeeded(self) {
        let mut inner = self.limiter.inner.lock().expect("limiter lock");
        inner.accounts.clear(self.account);
        if let Some(a) = self.address {
            inner.addresses.unrecord(a, self.at);
        }
    }
}

fn too_many(whom: &str, wait: Duration) -> AppError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    AppError::TooManyRequests {
        message: format!(
            "too many failed sign-ins {whom}; try again in {secs} s (login_attempts_per_account / login_attempts_per_address within login_window_seconds)"
        ),
        retry_after: wait,
    }
}

/// What one client is, for the address limit: an IPv4 address, or an IPv6 /64 (one
/// subscriber's usual allocation; counting single IPv6 addresses would let a client rotate
/// through its 2^64 of them).
fn address_block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// The client's address, from the connection (`ConnectInfo`, set by `crate::http`); `None`
/// where there is no connection (the in-process test harness).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(account: u32, address: u32, window: Duration) -> Limits {
        Limits { login_attempts_per_account: account, login_attempts_per_address: address, login_window: window, ..Limits::default() }
    }

    #[test]
    fn an_account_is_refused_after_its_limit_until_the_window_passes() {
        let l = LoginLimiter::new(&limits(3, 100, Duration::from_millis(200)));
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            drop(l.attempt("a@x.io", ip).unwrap());
        }
        let Err(AppError::TooManyRequests { retry_after, .. }) = l.attempt("A@x.io ", ip) else { panic!("not limited") };
        assert!(retry_after <= Duration::from_millis(200) && retry_after > Duration::ZERO);
        assert!(l.attempt("b@x.io", ip).is_ok(), "another account from the same address");
        std::thread::sleep(Duration::from_millis(220));
        l.attempt("a@x.io", ip).unwrap().succeeded();
        for _ in 0..3 {
            drop(l.attempt("a@x.io", ip).unwrap());
        }
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let l = LoginLimiter::new(&limits(3, 5, Duration::from_secs(60)));
        let ip = Some("10.0.0.2".parse().unwrap());
        drop(l.attempt("a@x.io", ip).unwrap());
        drop(l.attempt("a@x.io", ip).unwrap());
        l.attempt("a@x.io", ip).unwrap().succeeded();
        drop(l.attempt("a@x.io", ip).unwrap());
        drop(l.attempt("a@x.io", ip).unwrap());
        // 4 failures from the address so far; the 5th fills it.
        drop(l.attempt("c@x.io", ip).unwrap());
        assert!(matches!(l.attempt("d@x.io", ip), Err(AppError::TooManyRequests { .. })));
        assert!(l.attempt("d@x.io", Some("10.0.0.3".parse().unwrap())).is_ok());
        assert!(l.attempt("e@x.io", None).is_ok(), "no address: only the account limit");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_block(a), address_block(b));
        assert_ne!(address_block(a), address_block("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(address_block("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn memory_stays_bounded() {
        let l = LoginLimiter::new(&limits(10, 1_000_000, Duration::from_secs(60)));
        for i in 0..(MAX_KEYS + 500) {
            drop(l.attempt(&format!("user{i}@x.io"), None).unwrap());
        }
        assert!(l.tracked().0 <= MAX_KEYS, "{:?}", l.tracked());
        let short = LoginLimiter::new(&limits(10, 10, Duration::from_millis(20)));
        for i in 0..100 {
            drop(short.attempt(&format!("u{i}@x.io"), None).unwrap());
        }
        std::thread::sleep(Duration::from_millis(30));
        drop(short.attempt("last@x.io", None).unwrap());
        assert_eq!(short.tracked().0, 1, "expired entries are swept");
    }
}
