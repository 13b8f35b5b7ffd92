//! Metrics formatters: raw engine metrics → display metrics and fitness (the
//! `formatter-plugin` world).

use std::collections::HashSet;

use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::formatter::{FormatRequest, FormatResult};
use crate::bindings::formatter_world::{FormatterPlugin, FormatterPluginPre};
use crate::bindings::types as wit;
use crate::kind::{KindPre, PluginKind};
use crate::metadata::Kind;
use crate::sandbox::HostState;

/// The formatter kind.
pub struct Formatter;

impl PluginKind for Formatter {
    const KIND: Kind = Kind::Formatter;
    const CALL: &'static str = "format";
    type Pre = FormatterPluginPre<HostState>;
    type Bindings = FormatterPlugin;
    type Input = FormatRequest;
    type Output = FormatResult;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
        FormatterPluginPre::new(instance_pre)
    }

    fn pre_of(pres: &KindPre) -> Option<&Self::Pre> {
        match pres {
            KindPre::Formatter(p) => Some(p),
            _ => None,
        }
    }

    fn wrap_pre(pre: Self::Pre) -> KindPre {
        KindPre::Formatter(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate(store)
    }

    fn metadata(b: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginMetadata> {
        b.annotateforge_plugin_formatter().call_metadata(store)
    }

    fn call(b: &Self::Bindings, store: &mut Store<HostState>, input: &FormatRequest) -> wasmtime::Result<Result<FormatResult, wit::PluginError>> {
        b.annotateforge_plugin_formatter().call_format(store, input)
    }

    fn check(_req: &FormatRequest, out: &FormatResult) -> Result<(), String> {
        check_result(out)
    }
}

/// The contract of a formatting: unique snake_case keys, finite values and fitness.
pub fn check_result(out: &FormatResult) -> Result<(), String> {
    let mut keys = HashSet::new();
    for m in &out.metrics {
        let ok = !m.key.is_empty() && m.key.len() <= 64 && m.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(format!("metric key `{}` is not snake_case (a-z, 0-9, _; at most 64)", m.key));
        }
        if !keys.insert(m.key.as_str()) {
            return Err(format!("metric key `{}` appears twice", m.key));
        }
        if !m.value.is_finite() {
            return Err(format!("metric `{}` has the non-finite value {}", m.key, m.value));
        }
    }
    if let Some(f) = out.fitness {
        if !f.is_finite() {
            return Err(format!("the fitness {f} is not finite"));
        }
    }
    Ok(())
}
