//! Splitters: all items → train / val / test (the `splitter-plugin` world).

use std::collections::HashMap;

use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::splitter::{Assignment, SplitRequest};
use crate::bindings::splitter_world::{SplitterPlugin, SplitterPluginPre};
use crate::bindings::types as wit;
use crate::kind::{KindPre, PluginKind};
use crate::metadata::Kind;
use crate::sandbox::HostState;

/// The splitter kind.
pub struct Splitter;

impl PluginKind for Splitter {
    const KIND: Kind = Kind::Splitter;
    const CALL: &'static str = "split";
    type Pre = SplitterPluginPre<HostState>;
    type Bindings = SplitterPlugin;
    type Input = SplitRequest;
    type Output = Vec<Assignment>;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
        SplitterPluginPre::new(instance_pre)
    }

    fn pre_of(pres: &KindPre) -> Option<&Self::Pre> {
        match pres {
            KindPre::Splitter(p) => Some(p),
            _ => None,
        }
    }

    fn wrap_pre(pre: Self::Pre) -> KindPre {
        KindPre::Splitter(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate(store)
    }

    fn metadata(b: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginMetadata> {
        b.annotateforge_plugin_splitter().call_metadata(store)
    }

    fn call(b: &Self::Bindings, store: &mut Store<HostState>, input: &SplitRequest) -> wasmtime::Result<Result<Vec<Assignment>, wit::PluginError>> {
        b.annotateforge_plugin_splitter().call_split(store, input)
    }

    fn check(req: &SplitRequest, out: &Vec<Assignment>) -> Result<(), String> {
        check_result(req, out)
    }
}

/// The contract of a split: exactly one assignment per item, none for unknown images.
pub fn check_result(req: &SplitRequest, out: &[Assignment]) -> Result<(), String> {
    let mut seen: HashMap<i64, bool> = req.items.iter().map(|i| (i.image_id, false)).collect();
    for a in out {
        match seen.get_mut(&a.image_id) {
            None => return Err(format!("it assigns image {}, which is not among the items", a.image_id)),
            Some(true) => return Err(format!("it assigns image {} twice", a.image_id)),
            Some(s) => *s = true,
        }
    }
    if let Some((id, _)) = seen.iter().find(|(_, s)| !**s) {
        return Err(format!("it leaves image {id} unassigned ({} assignments for {} items)", out.len(), req.items.len()));
    }
    Ok(())
}
