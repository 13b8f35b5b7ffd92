//! The `PluginKind` trait: what differs between converters, splitters and formatters (the
//! generated bindings, the call, the contract checks on the result). Loading, sandboxing and
//! error handling are written once, generically, in `plugin.rs`.

use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::types as wit;
use crate::metadata::Kind;
use crate::sandbox::HostState;

/// One plugin kind (one WIT world).
pub trait PluginKind: Sized + 'static {
    const KIND: Kind;
    /// The name of the call, for error messages (`convert`, `split`, `format`).
    const CALL: &'static str;
    /// The generated, pre-linked instance factory (`ConverterPluginPre`).
    type Pre: Clone + Send + Sync + 'static;
    /// The generated instance wrapper (`ConverterPlugin`).
    type Bindings: Send;
    type Input;
    type Output;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre>;
    fn pre_of(pres: &KindPre) -> Option<&Self::Pre>;
    fn wrap_pre(pre: Self::Pre) -> KindPre;
    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings>;
    fn metadata(bindings: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginMetadata>;
    fn call(
        bindings: &Self::Bindings,
        store: &mut Store<HostState>,
        input: &Self::Input,
    ) -> wasmtime::Result<Result<Self::Output, wit::PluginError>>;
    /// Checks a result against the contract of the world; `Err` says what is wrong.
    fn check(input: &Self::Input, output: &Self::Output) -> Result<(), String>;
}

/// The pre-linked instance factory of a loaded plugin, whichever its kind.
#[derive(Clone)]
pub enum KindPre {
    Converter(crate::bindings::converter_world::ConverterPluginPre<HostState>),
    Splitter(crate::bindings::splitter_world::SplitterPluginPre<HostState>),
    Formatter(crate::bindings::formatter_world::FormatterPluginPre<HostState>),
}
