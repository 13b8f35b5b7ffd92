//! Two jobs in one process: a model built on another thread while a seeded one is built must
//! not change the seeded one's initial weights (both draw from libtorch's one generator). Its
//! own test binary, so no other test draws from that generator meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use af_core::TaskType;
use af_engine::nn::{ModelSpec, Scale, YoloModel};
use tch::{nn::VarStore, Device};

#[test]
fn a_seeded_build_is_the_same_whatever_is_built_meanwhile() {
    let spec = ModelSpec::new(TaskType::Detect, Scale::N, 3).unwrap();
    let seeded = || {
        let vs = VarStore::new(Device::Cpu);
        let _m = YoloModel::seeded(&vs.root(), spec, 7);
        vs
    };
    let reference = seeded().variables();
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let other = ModelSpec::new(TaskType::Classify, Scale::N, 2).unwrap();
            let mut built = 0;
            while !stop.load(Ordering::Relaxed) {
                let vs = VarStore::new(Device::Cpu);
                let _m = YoloModel::new(&vs.root(), other);
                built += 1;
            }
            built
        })
    };
    for _ in 0..4 {
        let again = seeded().variables();
        assert_eq!(again.len(), reference.len());
        for (name, t) in &reference {
            assert!(again[name].equal(t), "{name} differs from the seeded build made alone");
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(noise.join().unwrap() > 0, "the other thread built models meanwhile");
}
