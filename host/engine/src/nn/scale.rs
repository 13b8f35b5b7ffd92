//! Model sizes and what to build: `Scale` (n/s/m/l/x) with Ultralytics' depth / width /
//! max-channel multiples from the v8 yamls, and `ModelSpec` (task, scale, classes), which
//! can be read from base-model names such as `yolov8n.pt` or `yolov8s-seg.yaml`.

use std::fmt;
use std::str::FromStr;

use af_core::TaskType;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    N,
    S,
    M,
    L,
    X,
}

/// `depth_multiple`, `width_multiple` and `max_channels` of one scale row of a yaml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Multiples {
    pub depth: f64,
    pub width: f64,
    pub max_channels: i64,
}

impl Scale {
    pub const ALL: [Scale; 5] = [Scale::N, Scale::S, Scale::M, Scale::L, Scale::X];

    pub fn letter(self) -> char {
        match self {
            Scale::N => 'n',
            Scale::S => 's',
            Scale::M => 'm',
            Scale::L => 'l',
            Scale::X => 'x',
        }
    }

    /// The `scales:` rows of `yolov8.yaml` / `yolov8-seg.yaml` (detect, segment) and
    /// `yolov8-cls.yaml` (classify keeps max_channels 1024 at every scale).
    pub fn multiples(self, task: TaskType) -> Multiples {
        let (depth, width, det_max) = match self {
            Scale::N => (0.33, 0.25, 1024),
            Scale::S => (0.33, 0.50, 1024),
            Scale::M => (0.67, 0.75, 768),
            Scale::L => (1.00, 1.00, 512),
            Scale::X => (1.00, 1.25, 512),
        };
        let max_channels = if task == TaskType::Classify { 1024 } else { det_max };
        Multiples { depth, width, max_channels }
    }
}

impl Multiples {
    /// Output channels of a layer whose yaml says `c`: `make_divisible(min(c, max) * width, 8)`.
    pub fn channels(&self, c: i64) -> i64 {
        let scaled = c.min(self.max_channels) as f64 * self.width;
        ((scaled / 8.0).ceil() as i64) * 8
    }

    /// Repeats of a block whose yaml says `n`: `max(round(n * depth), 1)` (Python rounds half to
    /// even), or `n` itself when it is 1.
    pub fn repeats(&self, n: i64) -> i64 {
        if n > 1 {
            ((n as f64 * self.depth).round_ties_even() as i64).max(1)
        } else {
            n
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for Scale {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "n" => Ok(Scale::N),
            "s" => Ok(Scale::S),
            "m" => Ok(Scale::M),
            "l" => Ok(Scale::L),
            "x" => Ok(Scale::X),
            other => Err(EngineError::invalid(format!("unknown model scale `{other}` (expected n, s, m, l or x)"))),
        }
    }
}

/// What to build: the task's architecture at a scale, for `nc` classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    pub task: TaskType,
    pub scale: Scale,
    pub nc: i64,
}

impl ModelSpec {
    pub fn new(task: TaskType, scale: Scale, nc: i64) -> Result<Self> {
        if nc < 1 {
            return Err(EngineError::invalid(format!("a model needs at least one class, got nc={nc}")));
        }
        Ok(ModelSpec { task, scale, nc })
    }

    /// The Ultralytics base name of this architecture: `yolov8n`, `yolov8s-seg`, `yolov8m-cls`.
    pub fn base_name(&self) -> String {
        base_name(self.task, self.scale)
    }
}

/// `yolov8<scale>[-seg|-cls]`.
pub fn base_name(task: TaskType, scale: Scale) -> String {
    let suffix = match task {
        TaskType::Detect => "",
        TaskType::Segment => "-seg",
        TaskType::Classify => "-cls",
    };
    format!("yolov8{}{suffix}", scale.letter())
}

/// Reads task and scale from an Ultralytics model name: `yolov8n.pt`, `yolov8s-seg.yaml`,
/// `yolov8m-cls`, `yolov8l.safetensors` (any directory part is ignored).
pub fn parse_model_name(name: &str) -> Result<(TaskType, Scale)> {
    let bad = || {
        EngineError::invalid(format!(
            "`{name}` is not a YOLOv8 model name (expected yolov8<n|s|m|l|x>[-seg|-cls][.pt|.yaml|.safetensors])"
        ))
    };
    let file = std::path::Path::new(name).file_name().and_then(|f| f.to_str()).ok_or_else(bad)?;
    let stem = ["pt", "yaml", "yml", "safetensors"]
        .iter()
        .find_map(|ext| file.strip_suffix(&format!(".{ext}")))
        .unwrap_or(file)
        .to_ascii_lowercase();
    let rest = stem.strip_prefix("yolov8").ok_or_else(bad)?;
    let (scale_part, task) = match rest.split_once('-') {
        None => (rest, TaskType::Detect),
        Some((s, "seg")) => (s, TaskType::Segment),
        Some((s, "cls")) => (s, TaskType::Classify),
        Some(_) => return Err(bad()),
    };
    if scale_part.len() != 1 {
        return Err(bad());
    }
    Ok((task, scale_part.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolov8n_channels_and_repeats() {
        let m = Scale::N.multiples(TaskType::Detect);
        let chans: Vec<i64> = [64, 128, 256, 512, 1024].iter().map(|&c| m.channels(c)).collect();
        assert_eq!(chans, [16, 32, 64, 128, 256]);
        assert_eq!((m.repeats(3), m.repeats(6), m.repeats(1)), (1, 2, 1));
    }

    #[test]
    fn larger_scales_cap_channels() {
        let m = Scale::M.multiples(TaskType::Detect);
        assert_eq!((m.channels(1024), m.repeats(3), m.repeats(6)), (576, 2, 4));
        let x = Scale::X.multiples(TaskType::Detect);
        assert_eq!((x.channels(1024), x.channels(64)), (640, 80));
        // Classification keeps 1024 as its cap at every scale.
        assert_eq!(Scale::L.multiples(TaskType::Classify).channels(1024), 1024);
        assert_eq!(Scale::L.multiples(TaskType::Detect).channels(1024), 512);
    }

    #[test]
    fn parses_model_names() {
        assert_eq!(parse_model_name("yolov8n.pt").unwrap(), (TaskType::Detect, Scale::N));
        assert_eq!(parse_model_name("weights/yolov8s-seg.safetensors").unwrap(), (TaskType::Segment, Scale::S));
        assert_eq!(parse_model_name("YOLOv8x-cls").unwrap(), (TaskType::Classify, Scale::X));
        assert_eq!(parse_model_name("yolov8m.yaml").unwrap(), (TaskType::Detect, Scale::M));
        for bad in ["yolov5n.pt", "yolov8q.pt", "yolov8n-pose.pt", "yolov8", "", "yolov8nn.pt"] {
            assert!(parse_model_name(bad).is_err(), "{bad}");
        }
        assert_eq!(base_name(TaskType::Segment, Scale::L), "yolov8l-seg");
    }

    #[test]
    fn spec_rejects_zero_classes() {
        assert!(ModelSpec::new(TaskType::Detect, Scale::N, 0).is_err());
    }
}
