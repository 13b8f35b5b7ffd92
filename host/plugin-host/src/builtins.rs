//! The plugins shipped with the app, compiled by `build.rs` from `plugins/` and embedded in
//! the binary, so the server can install them on first start from nothing but itself.

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// A built-in plugin component.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The cargo package it was built from (`af-converter-detect`).
    pub package: &'static str,
    pub wasm: &'static [u8],
}

/// Every built-in: three converters, three splitters, one metrics formatter.
pub fn all() -> impl Iterator<Item = Builtin> {
    EMBEDDED.iter().map(|(package, wasm)| Builtin { package, wasm })
}

/// The built-in built from `package`, if any.
pub fn by_package(package: &str) -> Option<Builtin> {
    all().find(|b| b.package == package)
}

/// Path of a test-only plugin component (`af-test-hostile-converter`, …), for tests of this
/// and other crates. Panics on an unknown name: a test bug.
pub fn test_plugin_path(package: &str) -> std::path::PathBuf {
    TEST_PATHS
        .iter()
        .find(|(p, _)| *p == package)
        .map(|(_, path)| std::path::PathBuf::from(path))
        .unwrap_or_else(|| panic!("no test plugin `{package}`; known: {:?}", TEST_PATHS.iter().map(|t| t.0).collect::<Vec<_>>()))
}
