//! Components are compiled once per content hash and cached on disk.

mod common;

use af_plugin_host::{builtins, HostConfig, PluginHost};

fn host_in(dir: &std::path::Path) -> PluginHost {
    PluginHost::new(HostConfig { cache_dir: Some(dir.to_path_buf()), ..Default::default() }).unwrap()
}

#[test]
fn a_second_host_loads_the_cached_artifact_and_a_corrupt_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = builtins::by_package("af-split-random").unwrap().wasm;
    let first = host_in(dir.path());
    let plugin = first.load(wasm).unwrap();
    let cached = first.cache_path(dir.path(), plugin.sha256());
    assert!(cached.exists(), "compiled artifact at {}", cached.display());
    let written = std::fs::metadata(&cached).unwrap().modified().unwrap();
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 1, "no temporary files left behind");

    // A new host (a restarted server) reuses the file rather than compiling again.
    let second = host_in(dir.path());
    assert_eq!(second.load(wasm).unwrap().sha256(), plugin.sha256());
    assert_eq!(std::fs::metadata(&cached).unwrap().modified().unwrap(), written);

    // A damaged artifact is discarded and rebuilt, never trusted.
    drop((first, second, plugin));
    std::fs::write(&cached, b"garbage").unwrap();
    let third = host_in(dir.path());
    let again = third.load(wasm).unwrap();
    assert_eq!(again.name(), "split-random");
    assert!(std::fs::metadata(&cached).unwrap().len() > 1000);
}

#[test]
fn concurrent_loads_of_the_same_bytes_share_one_compilation() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_in(dir.path());
    let wasm = builtins::by_package("af-split-group").unwrap().wasm;
    let shas: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| host.load(wasm).unwrap().sha256().to_string())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(shas.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
