//! Writes a generated dataset of coloured shapes (see `af_engine::data::synth`), in
//! Ultralytics' layouts, for benchmarks and experiments:
//!
//! ```text
//! cargo run -p af-engine --release --example synth_dataset -- <detect|segment|classify> <out dir>
//!     [--train N] [--val N] [--size PX] [--classes N] [--objects MIN,MAX] [--scale MIN,MAX] [--seed S]
//! ```

use std::path::PathBuf;

use af_engine::data::synth::{write_classify, write_detect, SynthSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synth_dataset <detect|segment|classify> <out dir> [--train N] [--val N] [--size PX] [--classes N] [--objects MIN,MAX] [--scale MIN,MAX] [--seed S]";
    let (task, out) = match args.as_slice() {
        [t, o, ..] => (t.as_str(), PathBuf::from(o)),
        _ => return Err(usage.into()),
    };
    let mut spec = SynthSpec::new(200, 50, 256, 3);
    let mut it = args[2..].iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(usage)?;
        let pair = |v: &str| -> Result<(f64, f64), Box<dyn std::error::Error>> {
            let (a, b) = v.split_once(',').ok_or("expected MIN,MAX")?;
            Ok((a.parse()?, b.parse()?))
        };
        match flag.as_str() {
            "--train" => spec.train = v.parse()?,
            "--val" => spec.val = v.parse()?,
            "--size" => spec.size = v.parse()?,
            "--classes" => spec.classes = v.parse()?,
            "--seed" => spec.seed = v.parse()?,
            "--objects" => {
                let (a, b) = pair(v)?;
                spec.objects = (a as usize, b as usize);
            }
            "--scale" => spec.scale = pair(v)?,
            _ => return Err(format!("unknown option {flag}\n{usage}").into()),
        }
    }
    match task {
        "detect" => {
            write_detect(&out, &spec)?;
        }
        "segment" => {
            write_detect(&out, &SynthSpec { polygons: true, ..spec })?;
        }
        "classify" => write_classify(&out, &spec)?,
        _ => return Err(usage.into()),
    }
    println!("{}", out.display());
    Ok(())
}
