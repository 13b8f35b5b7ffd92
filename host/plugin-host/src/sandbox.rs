//! What a plugin may touch: the per-store state, the WASI context and the linker.
//!
//! Plugins built with Rust's std for `wasm32-wasip2` import WASI, so the linker provides it
//! (`wasmtime_wasi::p2::add_to_linker_sync`), but the context grants nothing useful:
//!
//! - **filesystem**: no preopened directories, so every path lookup fails;
//! - **network**: TCP and UDP sockets and name lookups are disabled;
//! - **environment, arguments, stdin**: empty / closed;
//! - **stdout**: discarded; **stderr**: kept in a small buffer, so the message of a panicking
//!   Rust plugin can be put into the error the host reports;
//! - **clocks**: an empty context would hand out the host's real wall and monotonic clocks.
//!   Both are frozen at 0 instead, so a plugin cannot make its output depend on time;
//! - **sleeping**: `monotonic-clock.subscribe-duration` / `subscribe-instant` would block the
//!   host thread in a host call, where the epoch deadline cannot interrupt it. They trap;
//! - **random**: an empty context would seed from the OS. Both the secure and insecure
//!   generators replay a fixed byte sequence instead, so even a plugin that uses a randomly
//!   seeded `HashMap` behaves the same on every run and machine.
//!
//! A memory cap (a [`ResourceLimiter`]) and a time budget (epoch interruption, see
//! `engine.rs`) apply to every store.

use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Per-call resource limits, configurable per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory a plugin instance may have, in bytes.
    pub memory_bytes: usize,
    /// The longest one call into a plugin may run.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { memory_bytes: 256 << 20, call_timeout: Duration::from_secs(10) }
    }
}

/// How much of a plugin's stderr is kept for error messages.
const STDERR_CAPACITY: usize = 16 << 10;

/// The data of one plugin `Store`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    stderr: MemoryOutputPipe,
}

impl HostState {
    pub(crate) fn new(limits: &Limits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let mut b = WasiCtxBuilder::new();
        b.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(wasmtime_wasi::Deterministic::new(RANDOM_BYTES.to_vec()))
            .insecure_random(wasmtime_wasi::Deterministic::new(RANDOM_BYTES.to_vec()))
            .insecure_random_seed(0x5eed_af5e_ed00_0000_0000_0000_0000_0001);
        Self {
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter { cap: limits.memory_bytes, denied: false },
            stderr,
        }
    }

    /// What the plugin wrote to stderr (lossy UTF-8, trimmed), e.g. a Rust panic message.
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).trim().to_string()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// 64 fixed bytes the sandbox's random generators cycle through. Not random at all, which is
/// the point: plugins must be deterministic.
const RANDOM_BYTES: [u8; 64] = {
    // SplitMix64 from seed 0, written out at compile time so the bytes are not magic.
    let mut out = [0u8; 64];
    let mut state: u64 = 0;
    let mut i = 0;
    while i < 8 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let bytes = z.to_le_bytes();
        let mut j = 0;
        while j < 8 {
            out[i * 8 + j] = bytes[j];
            j += 1;
        }
        i += 1;
    }
    out
};

/// A clock that always reads 0 (the Unix epoch for the wall clock).
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Caps linear memory and remembers whether the cap was hit, so that the trap that follows
/// (a Rust plugin aborts when allocation fails) is reported as a memory-limit error.
pub(crate) struct MemoryLimiter {
    cap: usize,
    pub(crate) denied: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables hold function references; no plugin needs a million of them.
        Ok(desired <= 1 << 20)
    }
}

/// The linker every plugin is instantiated with: WASI as described above, and nothing else.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // Sleeping would block the calling host thread inside a host function, out of reach of
    // the epoch deadline: replace the two ways to make a timer with functions that trap.
    linker.allow_shadowing(true);
    let mut clock = linker.instance("wasi:clocks/monotonic-clock@0.2.12")?;
    for name in ["subscribe-duration", "subscribe-instant"] {
        clock.func_new(name, move |_, _, _, _| {
            Err(wasmtime::format_err!("plugins may not sleep or wait on timers (`wasi:clocks/monotonic-clock#{name}` is denied)"))
        })?;
    }
    linker.allow_shadowing(false);
    Ok(linker)
}
