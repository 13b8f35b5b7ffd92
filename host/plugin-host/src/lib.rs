//! The plugin runtime: one shared wasmtime `Engine`, components compiled once per content
//! hash, a fresh sandboxed `Store` per call.
