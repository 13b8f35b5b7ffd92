//! Hostile and broken plugins are refused or stopped with a clear error naming the plugin,
//! and the host stays usable afterwards.

mod common;

use std::time::{Duration, Instant};

use af_plugin_host::bindings::types::TaskType;
use af_plugin_host::{Converter, HostConfig, Kind, Limits, PluginError, PluginHost, Splitter};
use common::*;
use serde_json::json;

/// A host with tight limits so the runaway cases end quickly.
fn strict_host() -> PluginHost {
    PluginHost::new(HostConfig {
        cache_dir: Some(cache_dir()),
        limits: Limits { memory_bytes: 32 << 20, call_timeout: Duration::from_millis(300) },
    })
    .unwrap()
}

fn run_mode(host: &PluginHost, mode: &str) -> Result<usize, PluginError> {
    let plugin = host.load(&test_plugin("af-test-hostile-converter")).unwrap();
    let req = request(TaskType::Detect, vec![annotation(1, af_plugin_host::bindings::types::AnnotationKind::Box, corners(1.0, 1.0, 5.0, 5.0), "a")], options(&plugin, &[("mode", json!(mode))]));
    plugin.call::<Converter>(&req).map(|r| r.labels.class_ids.len())
}

#[test]
fn an_infinite_loop_is_stopped_by_the_time_budget() {
    let host = strict_host();
    let start = Instant::now();
    let err = run_mode(&host, "loop").unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    let msg = err.to_string();
    assert!(msg.contains("hostile-converter") && msg.contains("time budget"), "{msg}");
    assert_eq!(run_mode(&host, "ok").unwrap(), 1, "the host still works");
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    let host = strict_host();
    let err = run_mode(&host, "alloc").unwrap_err();
    assert!(matches!(err, PluginError::MemoryLimit { limit_bytes, .. } if limit_bytes == 32 << 20), "{err}");
    assert!(err.to_string().contains("memory limit"), "{err}");
    assert_eq!(run_mode(&host, "ok").unwrap(), 1);
}

#[test]
fn a_panic_is_a_crash_report_with_the_panic_message() {
    let err = run_mode(host(), "trap").unwrap_err();
    let PluginError::Trap { message, .. } = &err else { panic!("{err}") };
    assert!(message.contains("hostile plugin panics on purpose"), "{message}");
    assert!(err.to_string().contains("plugin `hostile-converter` 0.1.0"), "{err}");
}

#[test]
fn sleeping_is_denied_instead_of_blocking_the_host() {
    let start = Instant::now();
    let err = run_mode(host(), "sleep").unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
    assert!(err.to_string().contains("may not sleep"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn exit_is_reported_not_obeyed() {
    let err = run_mode(host(), "exit").unwrap_err();
    // WASI 0.2's `exit` carries only success or failure: `exit(3)` arrives as `exit(1)`.
    assert!(err.to_string().contains("it called exit(1)"), "{err}");
}

#[test]
fn out_of_range_class_ids_and_bad_coordinates_are_malformed_results() {
    let err = run_mode(host(), "bad-class").unwrap_err();
    let PluginError::Malformed { message, .. } = &err else { panic!("{err}") };
    assert!(message.contains("class id 7") && message.contains("only 2 classes"), "{message}");
    let err = run_mode(host(), "bad-coords").unwrap_err();
    assert!(matches!(err, PluginError::Malformed { .. }) && err.to_string().contains("normalised"), "{err}");
    let err = run_mode(host(), "wrong-label").unwrap_err();
    assert!(err.to_string().contains("a polygon label (3 points); a detect dataset needs 4 numbers"), "{err}");
    let err = run_mode(host(), "few-results").unwrap_err();
    assert!(matches!(err, PluginError::Malformed { .. }) && err.to_string().contains("labels for 0 images in a request of 1 images"), "{err}");
    let err = run_mode(host(), "bad-warning").unwrap_err();
    assert!(matches!(err, PluginError::Malformed { .. }) && err.to_string().contains("image index 1, but the request has 1 images"), "{err}");
}

#[test]
fn the_sandbox_grants_no_files_env_network_clock_or_entropy() {
    let probe = || match run_mode(host(), "probe").unwrap_err() {
        PluginError::Guest { error, .. } => error.to_string(),
        other => panic!("{other}"),
    };
    let seen = probe();
    assert!(seen.contains("file=false"), "{seen}");
    assert!(seen.contains("env=0"), "{seen}");
    assert!(seen.contains("wall=0 "), "the wall clock is frozen at the epoch: {seen}");
    assert!(seen.contains("net=false"), "{seen}");
    assert_eq!(seen, probe(), "randomly keyed hashing is deterministic");
}

#[test]
fn a_trapping_metadata_call_is_refused_at_load() {
    let err = host().load(&test_plugin("af-test-bad-metadata")).unwrap_err();
    let PluginError::Trap { call, message, .. } = &err else { panic!("{err}") };
    assert_eq!(*call, "metadata");
    assert!(message.contains("metadata is broken on purpose"), "{message}");
}

#[test]
fn wrong_worlds_versions_and_non_components_are_refused() {
    for (package, export) in [("af-test-future-version", "annotateforge:plugin/converter@0.4.0"), ("af-test-old-version", "annotateforge:plugin/converter@0.1.0")] {
        let err = host().load(&test_plugin(package)).unwrap_err();
        assert!(matches!(err, PluginError::WrongVersion { supported: "0.3.0", .. }), "{package}: {err}");
        assert!(err.to_string().contains(export) && err.to_string().contains("0.3.0"), "{package}: {err}");
    }

    let err = host().load(&test_plugin("af-test-not-a-plugin")).unwrap_err();
    assert!(matches!(err, PluginError::WrongWorld { .. }), "{err}");
    assert!(err.to_string().contains("example:greeter/greet@1.0.0"), "{err}");

    // A core module (the smallest valid one: magic + version 1).
    let err = host().load(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(err, PluginError::NotComponent), "{err}");
    let err = host().load(b"MZ\x90\0 not wasm at all").unwrap_err();
    assert!(matches!(err, PluginError::NotWasm(_)), "{err}");
    // A component header with a garbage body.
    let err = host().load(b"\0asm\x0d\0\x01\0\xff\xff\xff").unwrap_err();
    assert!(matches!(err, PluginError::Invalid(_)), "{err}");
}

#[test]
fn a_plugin_of_another_kind_is_refused_by_name() {
    let splitter = builtin("af-split-random");
    let err = splitter.session::<Converter>().err().unwrap();
    assert!(matches!(err, PluginError::WrongKind { expected: Kind::Converter, actual: Kind::Splitter, .. }), "{err}");
    assert!(err.to_string().contains("`split-random`"), "{err}");
    assert!(splitter.session::<Splitter>().is_ok());
}

#[test]
fn a_session_is_poisoned_after_a_trap() {
    let plugin = host().load(&test_plugin("af-test-hostile-converter")).unwrap();
    let mut session = plugin.session::<Converter>().unwrap();
    let trap = request(TaskType::Detect, vec![], options(&plugin, &[("mode", json!("trap"))]));
    assert!(session.call(&trap).is_err());
    let ok = request(TaskType::Detect, vec![], options(&plugin, &[]));
    assert!(matches!(session.call(&ok), Err(PluginError::Poisoned { .. })));
    assert!(plugin.call::<Converter>(&ok).is_ok(), "a fresh session works");
}
