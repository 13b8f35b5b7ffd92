//! Keep `libtorch_cuda.so` linked: the linker's default `--as-needed` drops it because no
//! symbol is referenced directly, and then libtorch never registers its CUDA backend, so
//! `tch::Cuda::is_available()` is false even on a GPU machine. The binary still runs on
//! CPU-only machines (the library is present in the torch wheel either way).
//! These link args apply to this crate's tests and benches; the `annotateforge` binary's own
//! build script does the same for the binary.
//!
//! When `TORCH_LIB` is set (scripts/env.sh sets it to the torch wheel's `lib/`), that folder is
//! also recorded as the binary's RUNPATH, so the built binary starts without `LD_LIBRARY_PATH`;
//! an `LD_LIBRARY_PATH` still takes precedence (as on GPU machines with their own torch).
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch_cuda");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    println!("cargo:rerun-if-env-changed=TORCH_LIB");
    if let Ok(lib) = std::env::var("TORCH_LIB") {
        if !lib.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        }
    }
}
