//! `results.csv`, as Ultralytics writes it: `epoch,time,<train losses>,<metrics>,<val losses>,
//! lr/pg0,lr/pg1,lr/pg2` with values printed as `%.6g`, one row appended per epoch (so a
//! resumed run continues the file).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use af_core::TaskType;

use crate::error::{EngineError, Result};
use crate::loss::loss_names;

/// The metric columns of a task in Ultralytics' order.
pub fn metric_keys(task: TaskType) -> Vec<String> {
    match task {
        TaskType::Classify => vec!["metrics/accuracy_top1".into(), "metrics/accuracy_top5".into()],
        TaskType::Detect | TaskType::Segment => {
            let suffixes: &[char] = if task == TaskType::Segment { &['B', 'M'] } else { &['B'] };
            suffixes
                .iter()
                .flat_map(|s| ["precision", "recall", "mAP50", "mAP50-95"].map(|k| format!("metrics/{k}({s})")))
                .collect()
        }
    }
}

/// Every column after `epoch,time`.
pub fn columns(task: TaskType) -> Vec<String> {
    let losses = loss_names(task);
    let mut cols: Vec<String> = losses.iter().map(|n| format!("train/{n}")).collect();
    cols.extend(metric_keys(task));
    cols.extend(losses.iter().map(|n| format!("val/{n}")));
    cols.extend((0..3).map(|i| format!("lr/pg{i}")));
    cols
}

/// Python's `%.6g`.
pub fn fmt_g6(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() { "nan".into() } else if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let exp = v.abs().log10().floor() as i32;
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..6).contains(&exp) {
        let s = format!("{:.5e}", v);
        let (mant, e) = s.split_once('e').expect("exponent");
        let e: i32 = e.parse().expect("int");
        format!("{}e{}{:02}", trim(mant.to_string()), if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(format!("{:.*}", decimals, v))
    }
}

/// Appends one epoch's row (writing the header first if the file is new).
pub fn append_row(path: &Path, task: TaskType, epoch: usize, seconds: f64, values: &BTreeMap<String, f64>) -> Result<()> {
    let cols = columns(task);
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| EngineError::io(path, e))?;
    let mut text = String::new();
    if new {
        text.push_str("epoch,time,");
        text.push_str(&cols.join(","));
        text.push('\n');
    }
    let row: Vec<String> = std::iter::once(fmt_g6(epoch as f64))
        .chain(std::iter::once(fmt_g6(seconds)))
        .chain(cols.iter().map(|c| fmt_g6(values.get(c).copied().unwrap_or(0.0))))
        .collect();
    text.push_str(&row.join(","));
    text.push('\n');
    f.write_all(text.as_bytes()).map_err(|e| EngineError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g6_matches_python() {
        for (v, want) in [
            (1.0, "1"),
            (0.123456789, "0.123457"),
            (123456.7, "123457"),
            (1234567.0, "1.23457e+06"),
            (0.00001234, "1.234e-05"),
            (0.0001234, "0.0001234"),
            (2.5, "2.5"),
            (-3.25, "-3.25"),
            (0.0, "0"),
            (30.0, "30"),
        ] {
            assert_eq!(fmt_g6(v), want, "{v}");
        }
    }

    #[test]
    fn columns_in_ultralytics_order() {
        let seg = columns(TaskType::Segment);
        assert_eq!(&seg[..4], ["train/box_loss", "train/seg_loss", "train/cls_loss", "train/dfl_loss"]);
        assert_eq!(seg[4], "metrics/precision(B)");
        assert_eq!(seg[11], "metrics/mAP50-95(M)");
        assert_eq!(&seg[seg.len() - 3..], ["lr/pg0", "lr/pg1", "lr/pg2"]);
        assert_eq!(columns(TaskType::Classify), ["train/loss", "metrics/accuracy_top1", "metrics/accuracy_top5", "val/loss", "lr/pg0", "lr/pg1", "lr/pg2"]);
    }

    #[test]
    fn appends_rows_under_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.csv");
        let vals = BTreeMap::from([("train/loss".to_string(), 1.5), ("lr/pg0".to_string(), 0.01)]);
        append_row(&p, TaskType::Classify, 1, 2.25, &vals).unwrap();
        append_row(&p, TaskType::Classify, 2, 4.5, &vals).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "epoch,time,train/loss,metrics/accuracy_top1,metrics/accuracy_top5,val/loss,lr/pg0,lr/pg1,lr/pg2");
        assert_eq!(lines[2], "2,4.5,1.5,0,0,0,0.01,0,0");
    }
}
