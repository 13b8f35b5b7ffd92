//! Device selection: the strings users write (`auto`, `cpu`, `cuda`, `cuda:1`, or
//! Ultralytics' bare `0`) → a `tch::Device`. `auto` picks CUDA device 0 when libtorch sees a
//! GPU and the CPU otherwise; naming a CUDA device that is not there is an error rather than
//! a silent fallback, so a job never trains on the CPU by accident.

use tch::{Cuda, Device};

use crate::error::{EngineError, Result};

/// Parses a device string. Accepted: `auto` (or empty), `cpu`, `cuda`, `cuda:N`, `N`.
pub fn parse_device(spec: &str) -> Result<Device> {
    let s = spec.trim().to_ascii_lowercase();
    let err = |message: String| EngineError::Device { spec: spec.to_string(), message };
    let index = match s.as_str() {
        "" | "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        "cuda" | "gpu" => 0,
        other => {
            let digits = other.strip_prefix("cuda:").unwrap_or(other);
            digits.parse::<usize>().map_err(|_| {
                err("expected auto, cpu, cuda or cuda:N (N a device index)".to_string())
            })?
        }
    };
    let count = if Cuda::is_available() { Cuda::device_count() as usize } else { 0 };
    if index >= count {
        return Err(err(if count == 0 {
            "CUDA is not available on this machine (use cpu or auto)".to_string()
        } else {
            format!("only {count} CUDA device(s) present")
        }));
    }
    Ok(Device::Cuda(index))
}

/// The canonical string for a device (`cpu`, `cuda:0`), for logs and job records.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_auto() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        assert_eq!(parse_device("auto").unwrap(), Device::cuda_if_available());
        assert_eq!(parse_device("").unwrap(), Device::cuda_if_available());
    }

    #[test]
    fn rejects_garbage_and_absent_gpus() {
        assert!(matches!(parse_device("tpu"), Err(EngineError::Device { .. })));
        assert!(matches!(parse_device("cuda:x"), Err(EngineError::Device { .. })));
        // More devices than any machine has.
        assert!(parse_device("cuda:4096").is_err());
        if !Cuda::is_available() {
            let e = parse_device("cuda").unwrap_err().to_string();
            assert!(e.contains("not available"), "{e}");
        }
    }

    #[test]
    fn names_devices() {
        assert_eq!(device_name(Device::Cpu), "cpu");
        assert_eq!(device_name(Device::Cuda(1)), "cuda:1");
    }
}
