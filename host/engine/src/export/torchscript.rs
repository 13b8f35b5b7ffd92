//! TorchScript export: libtorch traces the fused model's eval forward (decoding included) on
//! an example batch, and the traced module is saved as a TorchScript archive that
//! `torch.jit.load` reads. Outputs as the ONNX file's: one tensor (detect `[N, 4+nc, A]`,
//! classify `[N, nc]`), or the pair (`output0`, prototypes) for segment.
//!
//! Like Ultralytics' TorchScript export the trace is for the exported shape: sizes the
//! forward reads (anchors, reshapes) are constants in it. The metadata goes where
//! Ultralytics puts it, the archive's `extra/config.txt` (JSON), which
//! `torch.jit.load(f, _extra_files={"config.txt": ""})` returns.

use std::io::Write;
use std::path::Path;

use tch::{CModule, Kind, Tensor};

use crate::error::{EngineError, Result};
use crate::nn::{ModelOutput, YoloModel};

/// The eval outputs a trace records, in Ultralytics' order.
pub fn outputs(model: &YoloModel, x: &Tensor) -> Result<Vec<Tensor>> {
    Ok(match model.forward_t(x, false)? {
        ModelOutput::Segment(s) => vec![s.decode(), s.proto],
        out => vec![out.decode()],
    })
}

/// Traces `model` (already fused, on its device, in its precision) on a `batch × 3 × imgsz²`
/// input and saves it to `path` with `config_json` as `extra/config.txt`.
///
/// libtorch's tracer (as tch drives it) records each output as its own graph output, and
/// TorchScript only saves single-result methods; so a two-output model (segment) is traced
/// returning both outputs flattened and concatenated, and the saved forward's `return` is
/// rewritten to slice and reshape that back into the tuple `(output0, output1)`.
pub fn trace_and_save(model: &YoloModel, imgsz: i64, batch: i64, half: bool, config_json: &str, path: &Path) -> Result<()> {
    let kind = if half { Kind::Half } else { Kind::Float };
    let example = Tensor::zeros([batch, 3, imgsz, imgsz], (kind, model.device()));
    model.check_input(&example)?;
    let mut shapes: Vec<Vec<i64>> = Vec::new();
    let traced = tch::no_grad(|| {
        let mut failed = None;
        let mut forward = |inputs: &[Tensor]| match outputs(model, &inputs[0]) {
            Ok(v) if v.len() == 1 => v,
            Ok(v) => {
                shapes = v.iter().map(Tensor::size).collect();
                let flat: Vec<Tensor> = v.iter().map(|t| t.flatten(1, -1)).collect();
                vec![Tensor::cat(&flat, 1)]
            }
            Err(e) => {
                failed = Some(e);
                Vec::new()
            }
        };
        let traced = CModule::create_by_tracing("AnnotateForgeYOLO", "forward", &[example], &mut forward);
        match failed {
            Some(e) => Err(e),
            None => traced.map_err(EngineError::from),
        }
    })?;
    traced.save(path)?;
    rewrite_archive(path, &shapes, config_json.as_bytes())
}

/// The saved forward's last `return <expr>` split back into a tuple of `shapes` (each output
/// flattened from dim 1 and concatenated along it), with the return type to match.
fn unpack_return(code: &str, shapes: &[Vec<i64>]) -> Option<String> {
    let def = code.find("def forward(")?;
    let sig = def + code[def..].find(") -> Tensor:")?;
    let ret = code.rfind("\n    return ")?;
    let end = ret + 1 + code[ret + 1..].find('\n').unwrap_or(code.len() - ret - 1);
    let expr = code[ret + "\n    return ".len()..end].trim();
    let mut parts = Vec::new();
    let mut start = 0i64;
    for (i, shape) in shapes.iter().enumerate() {
        let len: i64 = shape[1..].iter().product();
        let stop = if i + 1 == shapes.len() { String::new() } else { format!(", {}", start + len) };
        let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
        parts.push(format!("torch.reshape(torch.slice(_af_packed, 1, {start}{stop}), [{}])", dims.join(", ")));
        start += len;
    }
    let types = vec!["Tensor"; shapes.len()].join(", ");
    let mut out = String::with_capacity(code.len() + 256);
    out.push_str(&code[..sig]);
    out.push_str(&format!(") -> Tuple[{types}]:"));
    out.push_str(&code[sig + ") -> Tensor:".len()..ret]);
    out.push_str(&format!("\n    _af_packed = {expr}\n    return ({})", parts.join(", ")));
    out.push_str(&code[end..]);
    Some(out)
}

/// Rewrites a saved TorchScript archive (a zip whose entries all sit under one top-level
/// folder): the forward split into `shapes` outputs when there are several (its source-range
/// debug record dropped, as it no longer matches), and `extra/config.txt` added, as
/// `torch.jit.save(..., _extra_files=...)` writes it.
fn rewrite_archive(path: &Path, shapes: &[Vec<i64>], config: &[u8]) -> Result<()> {
    let zip_err = |e: zip::result::ZipError| EngineError::invalid(format!("TorchScript archive {}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).map_err(zip_err)?;
    let prefix = archive.by_index(0).map_err(zip_err)?.name().split('/').next().unwrap_or("archive").to_string();
    let code_name = format!("{prefix}/code/__torch__.py");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(bytes.len() + 4096)));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let name = entry.name().to_string();
        if shapes.len() > 1 && name == format!("{code_name}.debug_pkl") {
            continue;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| EngineError::io(path, e))?;
        if shapes.len() > 1 && name == code_name {
            let code = String::from_utf8(data).map_err(|_| EngineError::invalid("traced TorchScript code is not UTF-8"))?;
            data = unpack_return(&code, shapes)
                .ok_or_else(|| EngineError::invalid("unexpected traced TorchScript code: no `def forward(...) -> Tensor` with a return"))?
                .into_bytes();
        }
        out.start_file(name, stored).map_err(zip_err)?;
        out.write_all(&data).map_err(|e| EngineError::io(path, e))?;
    }
    out.start_file(format!("{prefix}/extra/config.txt"), stored).map_err(zip_err)?;
    out.write_all(config).map_err(|e| EngineError::io(path, e))?;
    let written = out.finish().map_err(zip_err)?.into_inner();
    std::fs::write(path, written).map_err(|e| EngineError::io(path, e))
}
