//! Keep `libtorch_cuda.so` linked: the linker's default `--as-needed` drops it because no
//! symbol is referenced directly, and then libtorch never registers its CUDA backend, so
//! `tch::Cuda::is_available()` is false even on a GPU machine. The binary still runs on
//! CPU-only machines (the library is present in the torch wheel either way).
//! These link args apply to this crate's tests and benches; the `annotateforge` binary's own
//! build script does the same for the binary.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch_cuda");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}
