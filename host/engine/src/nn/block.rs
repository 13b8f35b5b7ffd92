//! The backbone/neck blocks of YOLOv8: `Bottleneck`, `C2f` and `SPPF`, as in Ultralytics'
//! `nn/modules/block.py` (legacy v8 variants: SPPF's `cv1` keeps its SiLU).

use tch::{nn, Tensor};

use super::conv::Conv;

/// Two 3x3 Convs (`cv1`, `cv2`), plus the input when `shortcut` and the widths match.
#[derive(Debug)]
pub struct Bottleneck {
    pub(crate) cv1: Conv,
    pub(crate) cv2: Conv,
    pub(crate) add: bool,
}

impl Bottleneck {
    /// `Bottleneck(c1, c2, shortcut, k=(3, 3), e=1.0)` as C2f builds it.
    pub fn new(p: &nn::Path, c1: i64, c2: i64, shortcut: bool) -> Self {
        Bottleneck {
            cv1: Conv::new(&(p / "cv1"), c1, c2, 3, 1),
            cv2: Conv::new(&(p / "cv2"), c2, c2, 3, 1),
            add: shortcut && c1 == c2,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.cv2.forward_t(&self.cv1.forward_t(x, train), train);
        if self.add {
            y + x
        } else {
            y
        }
    }

    pub(crate) fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.cv1);
        f(&mut self.cv2);
    }
}

/// CSP bottleneck with two convolutions: `cv1` (1x1 → 2c), split into halves [a, b], each
/// bottleneck `m.j` extends the list from its last entry, `cv2` (1x1) over the concatenation.
#[derive(Debug)]
pub struct C2f {
    pub(crate) cv1: Conv,
    pub(crate) cv2: Conv,
    pub(crate) m: Vec<Bottleneck>,
}

impl C2f {
    pub fn new(p: &nn::Path, c1: i64, c2: i64, n: i64, shortcut: bool) -> Self {
        let c = c2 / 2; // int(c2 * 0.5)
        let m = (0..n).map(|j| Bottleneck::new(&(p / "m" / j), c, c, shortcut)).collect();
        C2f {
            cv1: Conv::new(&(p / "cv1"), c1, 2 * c, 1, 1),
            cv2: Conv::new(&(p / "cv2"), (2 + n) * c, c2, 1, 1),
            m,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut ys = self.cv1.forward_t(x, train).chunk(2, 1); // 2 x [B, c, H, W]
        for m in &self.m {
            let next = m.forward_t(ys.last().expect("chunk gives two tensors"), train);
            ys.push(next);
        }
        self.cv2.forward_t(&Tensor::cat(&ys, 1), train) // cat: [B, (2+n)c, H, W]
    }

    pub(crate) fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.cv1);
        f(&mut self.cv2);
        self.m.iter_mut().for_each(|m| m.for_each_conv(f));
    }
}

/// Spatial Pyramid Pooling - Fast: `cv1` (1x1 → c1/2), three chained 5x5 max-pools (stride 1,
/// padding 2), `cv2` (1x1) over [x, p1, p2, p3].
#[derive(Debug)]
pub struct Sppf {
    pub(crate) cv1: Conv,
    pub(crate) cv2: Conv,
    pub(crate) k: i64,
}

impl Sppf {
    pub fn new(p: &nn::Path, c1: i64, c2: i64, k: i64) -> Self {
        let c = c1 / 2;
        Sppf { cv1: Conv::new(&(p / "cv1"), c1, c, 1, 1), cv2: Conv::new(&(p / "cv2"), 4 * c, c2, 1, 1), k }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = self.cv1.forward_t(x, train);
        let pool = |t: &Tensor| t.max_pool2d([self.k, self.k], [1, 1], [self.k / 2, self.k / 2], [1, 1], false);
        let p1 = pool(&x);
        let p2 = pool(&p1);
        let p3 = pool(&p2);
        self.cv2.forward_t(&Tensor::cat(&[x, p1, p2, p3], 1), train) // cat: [B, 4c, H, W]
    }

    pub(crate) fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.cv1);
        f(&mut self.cv2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn c2f_names_follow_ultralytics() {
        let vs = nn::VarStore::new(Device::Cpu);
        let c2f = C2f::new(&(vs.root() / "model" / 2), 32, 32, 2, true);
        let vars = vs.variables();
        for name in ["model.2.cv1.conv.weight", "model.2.cv2.conv.weight", "model.2.m.1.cv2.bn.running_var"] {
            assert!(vars.contains_key(name), "{name} missing from {:?}", vars.keys());
        }
        assert_eq!(vars["model.2.cv2.conv.weight"].size(), [32, 64, 1, 1]); // (2+n)*c = 64
        let y = c2f.forward_t(&Tensor::rand([1, 32, 8, 8], (Kind::Float, Device::Cpu)), false);
        assert_eq!(y.size(), [1, 32, 8, 8]);
    }

    #[test]
    fn sppf_keeps_spatial_size() {
        let vs = nn::VarStore::new(Device::Cpu);
        let sppf = Sppf::new(&vs.root(), 64, 64, 5);
        let y = sppf.forward_t(&Tensor::rand([2, 64, 4, 4], (Kind::Float, Device::Cpu)), false);
        assert_eq!(y.size(), [2, 64, 4, 4]);
    }
}
