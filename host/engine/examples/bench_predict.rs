//! Inference benchmark, our side of `tools/bench/predict_vs_ultralytics.sh`.
//!
//!     bench_predict init <detect|segment|classify> <nc> <out.safetensors>
//!         writes a seeded, freshly initialised yolov8n model (both sides then load the same
//!         weights, so both run the same network and find the same detections);
//!     bench_predict run --model M --images DIR --imgsz N [--threads T] [--runs R] [--batch B] [--conf C]
//!         decodes the images once, warms up, then prints one JSON line: single-image latency
//!         (median / mean over R calls, and the median of each stage) and batch-B throughput.

use std::path::PathBuf;
use std::time::Instant;

use af_core::TaskType;
use af_engine::nn::{ModelSpec, Scale, YoloModel};
use af_engine::predict::{read_image, PredictOptions, Predictor};
use af_engine::weights::{save, SaveMeta};
use clap::{Parser, Subcommand};
use tch::nn::VarStore;
use tch::Device;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Init { task: TaskType, nc: i64, out: PathBuf },
    Run {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        imgsz: i64,
        #[arg(long)]
        threads: Option<i32>,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 5)]
        batch_runs: usize,
        #[arg(long, default_value_t = 0.25)]
        conf: f64,
        #[arg(long, default_value = "cpu")]
        device: String,
    },
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Init { task, nc, out } => {
            tch::manual_seed(0);
            let vs = VarStore::new(Device::Cpu);
            let model = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, nc)?);
            save(&vs, &out, &SaveMeta { spec: Some(model.spec()), ..Default::default() })?;
        }
        Cmd::Run { model, images, imgsz, threads, runs, batch, batch_runs, conf, device } => {
            if let Some(t) = threads {
                tch::set_num_threads(t);
            }
            let predictor = Predictor::load(&model, af_engine::parse_device(&device)?)?.with_imgsz(imgsz)?;
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&images)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            let imgs = paths.iter().map(read_image).collect::<Result<Vec<_>, _>>()?;
            let opts = PredictOptions { conf, ..Default::default() };
            for img in imgs.iter().take(3) {
                predictor.predict_one(img, &opts)?;
            }
            let (mut total, mut pre, mut inf, mut post) = (vec![], vec![], vec![], vec![]);
            let mut detections = 0;
            for r in 0..runs {
                let t = Instant::now();
                let p = predictor.predict_one(&imgs[r % imgs.len()], &opts)?;
                total.push(t.elapsed().as_secs_f64() * 1e3);
                pre.push(p.timing.preprocess_ms);
                inf.push(p.timing.inference_ms);
                post.push(p.timing.postprocess_ms);
                detections += p.detections.len();
            }
            let batch_imgs: Vec<_> = (0..batch).map(|i| imgs[i % imgs.len()].clone()).collect();
            predictor.predict(&batch_imgs, &opts)?;
            let t = Instant::now();
            for _ in 0..batch_runs {
                predictor.predict(&batch_imgs, &opts)?;
            }
            let throughput = (batch * batch_runs) as f64 / t.elapsed().as_secs_f64();
            let mean = total.iter().sum::<f64>() / total.len() as f64;
            println!(
                "{}",
                serde_json::json!({
                    "side": "annotateforge", "task": predictor.task(), "imgsz": imgsz, "threads": tch::get_num_threads(),
                    "latency_ms_median": median(&mut total), "latency_ms_mean": mean,
                    "preprocess_ms": median(&mut pre), "inference_ms": median(&mut inf), "postprocess_ms": median(&mut post),
                    "detections_per_image": detections as f64 / runs as f64,
                    "batch": batch, "throughput_img_s": throughput,
                })
            );
        }
    }
    Ok(())
}
