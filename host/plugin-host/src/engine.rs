//! The shared runtime: one wasmtime `Engine` (epoch interruption on, a ticker thread), the
//! sandbox linker, and components compiled once per content hash.
//!
//! Compiled components are cached twice: in memory for the life of the host, and on disk as
//! `<cache_dir>/<sha256>-<engine>.cwasm`, where `<engine>` is a hash of the engine's
//! compatibility hash (wasmtime version, target, compiler settings). A new wasmtime or other
//! settings therefore never load a stale artifact; they compile afresh under a new name.
//! The cache directory must be private to the host: loading a `.cwasm` trusts its contents.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

use crate::bindings::types as wit;
use crate::error::{PluginError, PluginRef};
use crate::kind::PluginKind;
use crate::metadata::{Kind, PluginMetadata, WIT_PACKAGE, WIT_VERSION};
use crate::plugin::{classify, Plugin};
use crate::sandbox::{self, HostState, Limits};
use crate::{Converter, Formatter, Splitter};

/// How often the ticker advances the engine's epoch: the granularity of time budgets.
const TICK: Duration = Duration::from_millis(10);

/// Settings of a [`PluginHost`].
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Where compiled components are cached; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// The plugin runtime. Cheap to clone; all clones share one engine and one cache.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    linker: Linker<HostState>,
    config: HostConfig,
    engine_hash: String,
    /// One slot per content hash; a slot's lock is held while it compiles, so concurrent
    /// loads of the same bytes compile once.
    compiled: Mutex<HashMap<String, Arc<Mutex<Option<Component>>>>>,
}

impl PluginHost {
    pub fn new(config: HostConfig) -> Result<Self, PluginError> {
        let mut c = Config::new();
        c.wasm_component_model(true).epoch_interruption(true);
        // For profiling plugins: `perf` then names the guest's JIT-compiled functions
        // (wasmtime writes /tmp/perf-<pid>.map).
        // `AF_PLUGIN_PERFMAP=jitdump`: the machine code too, for `perf record -k 1` +
        // `perf inject --jit` and `perf annotate`.
        match std::env::var("AF_PLUGIN_PERFMAP").as_deref() {
            Ok("1") => {
                c.profiler(wasmtime::ProfilingStrategy::PerfMap);
            }
            Ok("jitdump") => {
                c.profiler(wasmtime::ProfilingStrategy::JitDump);
            }
            _ => {}
        }
        let engine = Engine::new(&c).map_err(|e| PluginError::Runtime(format!("creating the wasm engine: {e}")))?;
        let linker = sandbox::linker(&engine).map_err(|e| PluginError::Runtime(format!("linking the sandbox: {e}")))?;
        let engine_hash = {
            let mut h = Sha256Hasher(Sha256::new());
            engine.precompile_compatibility_hash().hash(&mut h);
            hex::encode(&h.0.finalize()[..8])
        };
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir).map_err(|source| PluginError::Io { context: format!("creating the plugin cache {}", dir.display()), source })?;
        }
        spawn_ticker(&engine).map_err(|e| PluginError::Runtime(format!("starting the epoch thread: {e}")))?;
        Ok(Self { inner: Arc::new(HostInner { engine, linker, config, engine_hash, compiled: Mutex::new(HashMap::new()) }) })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.config.limits
    }

    /// Epoch ticks a call may run (rounded up, at least 1).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let t = self.limits().call_timeout.as_nanos().div_ceil(TICK.as_nanos());
        (t as u64).max(1)
    }

    /// A fresh store with the sandbox's state and the memory cap.
    pub(crate) fn store(&self) -> Store<HostState> {
        let mut store = Store::new(&self.inner.engine, HostState::new(self.limits()));
        store.limiter(|s| &mut s.limiter);
        store
    }

    /// Loads a plugin from a file (see [`PluginHost::load`]).
    pub fn load_file(&self, path: &Path) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Io { context: format!("reading {}", path.display()), source })?;
        self.load(&bytes)
    }

    /// Validates and loads a plugin component: it must be a component, export exactly one
    /// plugin interface of this host's WIT version, import nothing beyond the sandbox, and
    /// return valid metadata within the time and memory limits.
    #[tracing::instrument(skip_all, fields(size = bytes.len()))]
    pub fn load(&self, bytes: &[u8]) -> Result<Plugin, PluginError> {
        check_header(bytes)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let unnamed = PluginRef::unnamed(&sha256);
        let component = self.compile(bytes, &sha256)?;
        let kind = self.world_of(&component, &unnamed)?;
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link { plugin: unnamed.clone(), message: format!("{e:#}") })?;
        let (metadata, pre) = match kind {
            Kind::Converter => self.probe::<Converter>(instance_pre, &unnamed)?,
            Kind::Splitter => self.probe::<Splitter>(instance_pre, &unnamed)?,
            Kind::Formatter => self.probe::<Formatter>(instance_pre, &unnamed)?,
        };
        let metadata = PluginMetadata::from_wit(kind, metadata).map_err(|message| PluginError::Metadata { plugin: unnamed.clone(), message })?;
        tracing::debug!(%kind, name = %metadata.name, version = %metadata.version, %sha256, "plugin loaded");
        Ok(Plugin::new(self.clone(), kind, sha256, bytes.len(), metadata, pre, component))
    }

    /// Instantiates the plugin once and calls `metadata()`, in a sandboxed store.
    fn probe<K: PluginKind>(
        &self,
        instance_pre: wasmtime::component::InstancePre<HostState>,
        plugin: &PluginRef,
    ) -> Result<(wit::PluginMetadata, crate::kind::KindPre), PluginError> {
        let pre = K::pre(instance_pre).map_err(|e| PluginError::WrongWorld {
            plugin: plugin.clone(),
            expected: format!("the `{}` world", K::KIND.world()),
            found: format!("an incompatible `{}` interface ({e:#})", K::KIND.export_name()),
        })?;
        let mut store = self.store();
        store.set_epoch_deadline(self.deadline_ticks());
        let bindings = K::instantiate(&pre, &mut store).map_err(|e| classify(plugin, "instantiate", self, &store, e))?;
        let metadata = K::metadata(&bindings, &mut store).map_err(|e| classify(plugin, "metadata", self, &store, e))?;
        Ok((metadata, K::wrap_pre(pre)))
    }

    /// Which world a component implements, judged by its exports.
    fn world_of(&self, component: &Component, plugin: &PluginRef) -> Result<Kind, PluginError> {
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&self.inner.engine).map(|(name, _)| name.to_string()).collect();
        let ours: Vec<Kind> = Kind::ALL.into_iter().filter(|k| exports.contains(&k.export_name())).collect();
        match ours.as_slice() {
            [kind] => Ok(*kind),
            [] => {
                if let Some(other) = exports.iter().find(|e| e.starts_with(&format!("{WIT_PACKAGE}/"))) {
                    return Err(PluginError::WrongVersion { plugin: plugin.clone(), found: other.clone(), supported: WIT_VERSION });
                }
                Err(PluginError::WrongWorld {
                    plugin: plugin.clone(),
                    expected: Kind::ALL.iter().map(|k| format!("`{}`", k.export_name())).collect::<Vec<_>>().join(", "),
                    found: if exports.is_empty() { "nothing".into() } else { exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ") },
                })
            }
            many => Err(PluginError::WrongWorld {
                plugin: plugin.clone(),
                expected: "exactly one plugin interface".into(),
                found: many.iter().map(|k| format!("`{}`", k.export_name())).collect::<Vec<_>>().join(" and "),
            }),
        }
    }

    /// The compiled component for these bytes: from memory, from the disk cache, or compiled
    /// now (and then cached).
    fn compile(&self, bytes: &[u8], sha256: &str) -> Result<Component, PluginError> {
        let slot = self.inner.compiled.lock().unwrap().entry(sha256.to_string()).or_default().clone();
        let mut slot = slot.lock().unwrap();
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let component = self.compile_uncached(bytes, sha256)?;
        *slot = Some(component.clone());
        Ok(component)
    }

    fn compile_uncached(&self, bytes: &[u8], sha256: &str) -> Result<Component, PluginError> {
        let engine = &self.inner.engine;
        let Some(dir) = &self.inner.config.cache_dir else {
            return Component::new(engine, bytes).map_err(|e| PluginError::Invalid(format!("{e:#}")));
        };
        let path = self.cache_path(dir, sha256);
        // Read into memory rather than `deserialize_file`, which maps the file: a mapped
        // file truncated by someone else would crash the host with SIGBUS.
        if let Ok(artifact) = std::fs::read(&path) {
            // SAFETY: the cache directory is private to the host and every file in it was
            // written by `precompile_component` below (atomically, by rename); wasmtime also
            // checks the artifact's header against this engine's settings.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "discarding an unreadable compiled plugin"),
            }
        }
        let serialized = engine.precompile_component(bytes).map_err(|e| PluginError::Invalid(format!("{e:#}")))?;
        let tmp = dir.join(format!(".{sha256}.{}.tmp", std::process::id()));
        let io = |source| PluginError::Io { context: format!("writing {}", path.display()), source };
        std::fs::write(&tmp, &serialized).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        // SAFETY: the bytes were produced by this engine a moment ago.
        unsafe { Component::deserialize(engine, &serialized) }.map_err(|e| PluginError::Runtime(format!("{e:#}")))
    }

    /// Where the compiled form of the component with this hash is cached.
    pub fn cache_path(&self, dir: &Path, sha256: &str) -> PathBuf {
        dir.join(format!("{sha256}-{}.cwasm", self.inner.engine_hash))
    }
}

/// Rejects non-wasm and core modules with a clear message before compiling.
fn check_header(bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PluginError::NotWasm("the file does not start with the `\\0asm` magic number".into()));
    }
    // Bytes 4..8: version (2 bytes) and layer (2 bytes); layer 0 is a core module, 1 a component.
    match u16::from_le_bytes([bytes[6], bytes[7]]) {
        0 => Err(PluginError::NotComponent),
        1 => Ok(()),
        layer => Err(PluginError::NotWasm(format!("unknown WebAssembly layer {layer}"))),
    }
}

/// Advances the engine's epoch every [`TICK`] until the engine is dropped.
fn spawn_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("af-plugin-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .map(drop)
}

/// Feeds `Hash` output into SHA-256, so the engine hash in cache names is stable across
/// Rust versions (std's `DefaultHasher` makes no such promise).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only `write` is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
