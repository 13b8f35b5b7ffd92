//! `annotateforge`: the server (`serve`), extra workers (`worker`) and the engine's CLI
//! (`train`, `val`, `predict`) and plugin tools (`plugin`), in one binary.

fn main() -> anyhow::Result<()> {
    Ok(())
}
