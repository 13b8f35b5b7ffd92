//! Export benchmark (issue 16): for each weights file, the time to export ONNX and
//! TorchScript (best of `--rounds`, weights loading excluded as `Exported::seconds` is) and
//! the file sizes, then the engine's own libtorch forward + decode (what the exported graph
//! computes) on a `1 × 3 × imgsz²` input at `--threads` libtorch threads. One JSON line per
//! model; `tools/export/bench.sh` puts them beside ONNX Runtime's timings of the same files.
//!
//!     bench_export --out DIR [--imgsz 640] [--threads 2] [--runs 30] [--rounds 3] W.safetensors…

use std::path::PathBuf;
use std::time::Instant;

use af_engine::export::{export_file, ExportFormat, ExportOptions};
use af_engine::nn::ModelOutput;
use af_engine::weights::load_model;
use clap::Parser;
use tch::{Device, Kind, Tensor};

#[derive(Parser)]
struct Cli {
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 640)]
    imgsz: i64,
    #[arg(long, default_value_t = 2)]
    threads: i32,
    #[arg(long, default_value_t = 30)]
    runs: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    weights: Vec<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tch::set_num_threads(cli.threads);
    std::fs::create_dir_all(&cli.out)?;
    for w in &cli.weights {
        let stem = w.file_stem().and_then(|s| s.to_str()).unwrap_or("model").to_string();
        let task = load_model(w, Device::Cpu)?.model.task();
        let imgsz = if task == af_core::TaskType::Classify { 224.min(cli.imgsz) } else { cli.imgsz };
        let mut line = serde_json::json!({"model": stem, "task": task.as_str(), "imgsz": imgsz, "threads": cli.threads});
        for format in [ExportFormat::Onnx, ExportFormat::TorchScript] {
            let opts = ExportOptions { format, imgsz: Some(imgsz), ..Default::default() };
            let path = cli.out.join(format!("{stem}-{imgsz}.{}", format.extension()));
            let mut best = f64::INFINITY;
            let mut bytes = 0;
            for _ in 0..cli.rounds {
                let e = export_file(w, &opts, Some(&path))?;
                best = best.min(e.seconds);
                bytes = e.bytes;
            }
            line[format!("{format}_export_s")] = best.into();
            line[format!("{format}_bytes")] = bytes.into();
            line[format!("{format}_file")] = path.display().to_string().into();
        }
        let mut loaded = load_model(w, Device::Cpu)?;
        loaded.model.fuse();
        let x = Tensor::rand([1, 3, imgsz, imgsz], (Kind::Float, Device::Cpu));
        let forward = || {
            tch::no_grad(|| {
                let out = loaded.model.forward_t(&x, false).unwrap();
                let d = out.decode();
                let _ = d.sum(Kind::Float).double_value(&[]);
                if let ModelOutput::Segment(s) = &out {
                    let _ = s.proto.sum(Kind::Float).double_value(&[]);
                }
            })
        };
        for _ in 0..5 {
            forward();
        }
        let times: Vec<f64> = (0..cli.runs)
            .map(|_| {
                let t = Instant::now();
                forward();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        line["libtorch_mean_ms"] = (times.iter().sum::<f64>() / times.len() as f64).into();
        line["libtorch_p50_ms"] = median(times).into();
        println!("{line}");
    }
    Ok(())
}
