//! The multi-threaded training loader with prefetch.
//!
//! An epoch is an [`EpochPlan`]: a seeded permutation of the dataset cut into batches.
//! Worker threads take batch numbers from a shared counter and build whole batches (decode,
//! augment, rasterise masks, collate into plain buffers — no libtorch work, so they never
//! compete with the model for libtorch's thread pool); the consumer receives them **in
//! order**. Workers stay at most `prefetch` batches ahead of the consumer, which bounds memory.
//! Because each sample's randomness is derived from `(seed, epoch, position)`, the batches are
//! identical whatever the number of workers or their timing.
//!
//! Dropping the [`Loader`] stops the workers after the batch each is building.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};

use super::rng::Rng;
use crate::error::{EngineError, Result};

/// One epoch's order and batching.
#[derive(Debug, Clone)]
pub struct EpochPlan {
    pub epoch: usize,
    pub seed: u64,
    /// Dataset indices in visiting order.
    pub order: Vec<usize>,
    pub batch: usize,
}

impl EpochPlan {
    /// A seeded shuffle of `0..len` (or the identity when `shuffle` is false). A final batch
    /// of a single image is dropped (as long as there is more than one batch): BatchNorm in
    /// train mode cannot normalise one value per channel at the coarsest level.
    pub fn new(len: usize, batch: usize, epoch: usize, seed: u64, shuffle: bool) -> Self {
        let mut order: Vec<usize> = (0..len).collect();
        if shuffle {
            Rng::derive(&[seed, epoch as u64, 0x5348_5546]).shuffle(&mut order);
        }
        if len > batch && len % batch == 1 {
            order.pop();
        }
        EpochPlan { epoch, seed, order, batch: batch.max(1) }
    }

    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    pub fn positions(&self, b: usize) -> Range<usize> {
        b * self.batch..((b + 1) * self.batch).min(self.order.len())
    }

    /// The generator of the sample at `position`.
    pub fn rng(&self, position: usize) -> Rng {
        Rng::derive(&[self.seed, self.epoch as u64, position as u64, 0x4155_4721])
    }
}

/// Builds batches of a dataset; implemented per task in `data`.
pub trait BatchSource: Send + Sync + 'static {
    type Batch: Send + 'static;
    fn build(&self, plan: &EpochPlan, positions: Range<usize>) -> Result<Self::Batch>;
}

struct Shared {
    next_job: AtomicUsize,
    delivered: Mutex<usize>,
    cv: Condvar,
    stop: AtomicBool,
}

/// Iterator over one epoch's batches, in order.
pub struct Loader<B> {
    rx: Receiver<(usize, Result<B>)>,
    pending: BTreeMap<usize, Result<B>>,
    next: usize,
    total: usize,
    shared: Arc<Shared>,
}

impl<B: Send + 'static> Loader<B> {
    /// Starts `workers` threads (at least 1) building the plan's batches, at most `prefetch`
    /// (at least 1) ahead of consumption.
    pub fn start<S: BatchSource<Batch = B>>(source: Arc<S>, plan: Arc<EpochPlan>, workers: usize, prefetch: usize) -> Self {
        let total = plan.num_batches();
        let shared = Arc::new(Shared { next_job: AtomicUsize::new(0), delivered: Mutex::new(0), cv: Condvar::new(), stop: AtomicBool::new(false) });
        let (tx, rx) = channel();
        let prefetch = prefetch.max(1);
        for w in 0..workers.max(1).min(total.max(1)) {
            let (source, plan, shared, tx) = (source.clone(), plan.clone(), shared.clone(), tx.clone());
            let spawned = std::thread::Builder::new().name(format!("af-loader-{w}")).spawn(move || loop {
                let b = shared.next_job.fetch_add(1, Ordering::SeqCst);
                if b >= total {
                    return;
                }
                {
                    let mut delivered = shared.delivered.lock().unwrap_or_else(|e| e.into_inner());
                    while b >= *delivered + prefetch && !shared.stop.load(Ordering::SeqCst) {
                        delivered = shared.cv.wait(delivered).unwrap_or_else(|e| e.into_inner());
                    }
                }
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.build(&plan, plan.positions(b))))
                    .unwrap_or_else(|_| Err(EngineError::invalid(format!("the data loader panicked while building batch {b}"))));
                if tx.send((b, result)).is_err() {
                    return;
                }
            });
            if let Err(e) = spawned {
                tracing::warn!("could not start loader thread {w}: {e}");
            }
        }
        Loader { rx, pending: BTreeMap::new(), next: 0, total, shared }
    }

    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl<B> Iterator for Loader<B> {
    type Item = Result<B>;

    fn next(&mut self) -> Option<Result<B>> {
        if self.next >= self.total {
            return None;
        }
        let item = loop {
            if let Some(r) = self.pending.remove(&self.next) {
                break r;
            }
            match self.rx.recv() {
                Ok((b, r)) => {
                    self.pending.insert(b, r);
                }
                Err(_) => break Err(EngineError::invalid("the data loader stopped unexpectedly")),
            }
        };
        self.next += 1;
        *self.shared.delivered.lock().unwrap_or_else(|e| e.into_inner()) = self.next;
        self.shared.cv.notify_all();
        Some(item)
    }
}

impl<B> Drop for Loader<B> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Returns the indices and a random draw per position, slowly and out of order.
    struct Echo {
        built: AtomicUsize,
    }

    impl BatchSource for Echo {
        type Batch = Vec<(usize, u64)>;
        fn build(&self, plan: &EpochPlan, positions: Range<usize>) -> Result<Self::Batch> {
            self.built.fetch_add(1, Ordering::SeqCst);
            let first = positions.start;
            std::thread::sleep(Duration::from_millis(if first % 3 == 0 { 15 } else { 1 }));
            Ok(positions.map(|p| (plan.order[p], plan.rng(p).next_u64())).collect())
        }
    }

    #[test]
    fn batches_arrive_in_order_and_do_not_depend_on_workers() {
        let plan = Arc::new(EpochPlan::new(23, 4, 3, 9, true));
        assert_eq!(plan.num_batches(), 6);
        let run = |workers| {
            let src = Arc::new(Echo { built: AtomicUsize::new(0) });
            Loader::start(src, plan.clone(), workers, 3).map(|b| b.unwrap()).collect::<Vec<_>>()
        };
        let one = run(1);
        let four = run(4);
        assert_eq!(one, four);
        let seen: Vec<usize> = one.iter().flatten().map(|x| x.0).collect();
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, (0..23).collect::<Vec<_>>(), "every image once");
        assert_ne!(seen, sorted, "shuffled");
        assert_ne!(EpochPlan::new(23, 4, 4, 9, true).order, plan.order, "another order next epoch");
    }

    #[test]
    fn prefetch_bounds_how_far_workers_run_ahead() {
        let plan = Arc::new(EpochPlan::new(40, 1, 0, 0, false));
        let src = Arc::new(Echo { built: AtomicUsize::new(0) });
        let mut loader = Loader::start(src.clone(), plan, 3, 2);
        std::thread::sleep(Duration::from_millis(100));
        assert!(src.built.load(Ordering::SeqCst) <= 2, "built {} before any was consumed", src.built.load(Ordering::SeqCst));
        loader.next().unwrap().unwrap();
        drop(loader);
        std::thread::sleep(Duration::from_millis(60));
        assert!(src.built.load(Ordering::SeqCst) <= 5, "workers stop when the loader is dropped");
    }

    #[test]
    fn a_lone_last_image_is_dropped() {
        assert_eq!(EpochPlan::new(9, 4, 0, 0, false).order.len(), 8);
        assert_eq!(EpochPlan::new(10, 4, 0, 0, false).order.len(), 10);
        assert_eq!(EpochPlan::new(1, 4, 0, 0, false).order.len(), 1);
    }
}
