//! A loaded, validated plugin and the sessions that call it.
//!
//! A [`Session`] is one fresh `Store` and instance: a job opens one per plugin and calls it
//! many times (a converter once per image), so instantiation is paid once per job while
//! state still never leaks between jobs. Each call gets its own time budget; the memory cap
//! covers the session. After a trap the instance is discarded: the session is poisoned.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

use crate::bindings::types as wit;
use crate::engine::PluginHost;
use crate::error::{GuestError, PluginError, PluginRef};
use crate::kind::{KindPre, PluginKind};
use crate::metadata::{Kind, PluginMetadata};
use crate::sandbox::HostState;

/// A plugin that compiled, links against the sandbox, targets a known world and returned
/// valid metadata. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
}

struct Inner {
    host: PluginHost,
    kind: Kind,
    sha256: String,
    size: usize,
    metadata: PluginMetadata,
    pre: KindPre,
    #[allow(dead_code)] // kept alive with the plugin; the `pre` refers to it
    component: Component,
}

impl Plugin {
    pub(crate) fn new(host: PluginHost, kind: Kind, sha256: String, size: usize, metadata: PluginMetadata, pre: KindPre, component: Component) -> Self {
        Self { inner: Arc::new(Inner { host, kind, sha256, size, metadata, pre, component }) }
    }

    pub fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// Lower-case hex SHA-256 of the component bytes.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    pub fn metadata(&self) -> &PluginMetadata {
        &self.inner.metadata
    }

    pub fn name(&self) -> &str {
        &self.inner.metadata.name
    }

    pub fn version(&self) -> &str {
        &self.inner.metadata.version
    }

    /// How errors name this plugin.
    pub fn reference(&self) -> PluginRef {
        PluginRef { name: Some(self.name().into()), version: Some(self.version().into()), sha256: self.inner.sha256.clone() }
    }

    /// The option values for a call (see [`PluginMetadata::resolve_options`]).
    pub fn resolve_options(&self, chosen: &BTreeMap<String, serde_json::Value>) -> Result<Vec<wit::Setting>, PluginError> {
        self.inner
            .metadata
            .resolve_options(chosen)
            .map_err(|(option, message)| PluginError::InvalidOption { plugin: self.reference(), option, message })
    }

    /// Opens a session (a fresh sandboxed instance) for a plugin of kind `K`.
    pub fn session<K: PluginKind>(&self) -> Result<Session<K>, PluginError> {
        let pre = K::pre_of(&self.inner.pre).ok_or_else(|| PluginError::WrongKind {
            plugin: self.reference(),
            expected: K::KIND,
            actual: self.inner.kind,
        })?;
        let mut store = self.inner.host.store();
        store.set_epoch_deadline(self.inner.host.deadline_ticks());
        let bindings = K::instantiate(pre, &mut store)
            .map_err(|e| classify(&self.reference(), "instantiate", &self.inner.host, &store, e))?;
        Ok(Session { plugin: self.clone(), store, bindings, poisoned: false })
    }

    /// One call in a fresh session.
    pub fn call<K: PluginKind>(&self, input: &K::Input) -> Result<K::Output, PluginError> {
        self.session::<K>()?.call(input)
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("kind", &self.inner.kind).field("name", &self.name()).field("version", &self.version()).field("sha256", &self.sha256()).finish()
    }
}

/// One sandboxed instance of a plugin, called any number of times.
pub struct Session<K: PluginKind> {
    plugin: Plugin,
    store: Store<HostState>,
    bindings: K::Bindings,
    poisoned: bool,
}

impl<K: PluginKind> Session<K> {
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Calls the plugin with a fresh time budget and checks the result against the contract.
    pub fn call(&mut self, input: &K::Input) -> Result<K::Output, PluginError> {
        let plugin = self.plugin.reference();
        if self.poisoned {
            return Err(PluginError::Poisoned { plugin });
        }
        let host = &self.plugin.inner.host;
        self.store.set_epoch_deadline(host.deadline_ticks());
        match K::call(&self.bindings, &mut self.store, input) {
            Ok(Ok(output)) => {
                K::check(input, &output).map_err(|message| PluginError::Malformed { plugin, call: K::CALL, message })?;
                Ok(output)
            }
            Ok(Err(e)) => Err(PluginError::Guest { plugin, call: K::CALL, error: guest_error(e) }),
            Err(e) => {
                self.poisoned = true;
                Err(classify(&plugin, K::CALL, host, &self.store, e))
            }
        }
    }
}

fn guest_error(e: wit::PluginError) -> GuestError {
    match e {
        wit::PluginError::InvalidOption(m) => GuestError::InvalidOption(m),
        wit::PluginError::InvalidInput(m) => GuestError::InvalidInput(m),
        wit::PluginError::Failed(m) => GuestError::Failed(m),
    }
}

/// Turns a wasmtime error from a call into the error a user can act on.
pub(crate) fn classify(plugin: &PluginRef, call: &'static str, host: &PluginHost, store: &Store<HostState>, e: wasmtime::Error) -> PluginError {
    if store.data().limiter.denied {
        return PluginError::MemoryLimit { plugin: plugin.clone(), call, limit_bytes: host.limits().memory_bytes };
    }
    if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
        return PluginError::Timeout { plugin: plugin.clone(), call, budget: host.limits().call_timeout };
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return PluginError::Trap { plugin: plugin.clone(), call, message: format!("it called exit({})", exit.0) };
    }
    let mut message = match e.downcast_ref::<Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => e.root_cause().to_string(),
    };
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        let frames: Vec<&str> = bt.frames().iter().filter_map(|f| f.func_name()).take(4).collect();
        if !frames.is_empty() {
            message = format!("{message} (in {})", frames.join(" ← "));
        }
    }
    let stderr = store.data().stderr();
    if !stderr.is_empty() {
        // A Rust plugin prints its panic message before the `unreachable` trap.
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        message = format!("{message}; plugin stderr: {tail}");
    }
    PluginError::Trap { plugin: plugin.clone(), call, message }
}
