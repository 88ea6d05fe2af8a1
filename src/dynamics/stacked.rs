//! Plain LMSER (no gains) with two products per right-hand side, on flat
//! column-major slices (no copies of W in or of F out):
//!
//! with Z = [W C; W] (2 n1 x n0) and M = [W W^T, W C W^T] (n1 x 2 n1),
//!
//! ```text
//! F = 2 W C - W C W^T W - W W^T W C = 2 W C - M Z = -(M - [2 I, 0]) Z,
//! ```
//!
//! (W C is Z's top half), one product written straight into F (scaled by 1 / tau_w),
//!
//! so the two n1 x n1 by n1 x n0 products of `rules::flow` become one with inner
//! dimension 2 n1 (M's blocks are the symmetric products of `rules::flow`, lower
//! triangles mirrored), and C enters once (W C, written into Z). With C = diag(lambda) (Sigma's eigenbasis) Z is one pass
//! over W. The values equal `rules::flow`'s to rounding (tests/fast_flow.rs).

use crate::dynamics::rules::Moment;
use crate::linalg::{Block, BlockMut, Op, gemm_blocks, symmetric_block};
use crate::simd;
use nalgebra::DMatrix;

/// From this n1 on, W W^T and W C W^T are formed as lower triangles (two calls of
/// half the work); below it one product gives both (measured at 8 x 64 and 32 x 784).
const SYMMETRIC_FROM: usize = 16;

/// Work space of [`Stacked::flow`].
#[derive(Debug, Clone)]
pub(crate) struct Stacked {
    n1: usize,
    n0: usize,
    z: Vec<f64>,
    g: Vec<f64>,
    m: Vec<f64>,
    sam: DMatrix<f64>,
}

simd::multiversion! {
    /// Z = [W diag(d); W]: column j of Z is (d_j w_j, w_j).
    fn stack_diagonal(z: &mut [f64], w: &[f64], d: &[f64], n1: usize) {
        for (j, (zc, wc)) in z.chunks_exact_mut(2 * n1).zip(w.chunks_exact(n1)).enumerate() {
            let dj = d[j];
            let (top, bottom) = zc.split_at_mut(n1);
            for i in 0..n1 {
                top[i] = wc[i] * dj;
                bottom[i] = wc[i];
            }
        }
    }
}

simd::multiversion! {
    /// The bottom half of every column of Z (2 n1 rows) = W.
    fn stack_bottom(z: &mut [f64], w: &[f64], n1: usize) {
        for (zc, wc) in z.chunks_exact_mut(2 * n1).zip(w.chunks_exact(n1)) {
            zc[n1..].copy_from_slice(wc);
        }
    }
}

impl Stacked {
    pub(crate) fn new(n1: usize, n0: usize) -> Self {
        Stacked {
            n1,
            n0,
            z: vec![0.0; 2 * n1 * n0],
            g: vec![0.0; 2 * n1 * n1],
            m: vec![0.0; 2 * n1 * n1],
            sam: DMatrix::zeros(n1, 1),
        }
    }

    /// out = F(W; C) / tau_w of plain LMSER for W = `w` (n1 x n0, column-major).
    pub(crate) fn flow(&mut self, w: &[f64], c: &Moment, tau_w: f64, out: &mut [f64]) {
        let (n1, n0) = (self.n1, self.n0);
        let wb = Block {
            data: w,
            rows: n1,
            cols: n0,
            stride: n1,
        };
        self.stack(wb, c);
        let zb = Block {
            data: &self.z,
            rows: 2 * n1,
            cols: n0,
            stride: 2 * n1,
        };
        // M = [W W^T, W C W^T] (n1 x 2 n1, column-major: the two n1 x n1 blocks one
        // after the other).
        if n1 >= SYMMETRIC_FROM {
            // Each block symmetric: lower triangles (half the work), mirrored.
            let (k, s1) = self.m.split_at_mut(n1 * n1);
            let block = |data| BlockMut {
                data,
                rows: n1,
                cols: n1,
                stride: n1,
            };
            symmetric_block(block(k), wb, wb);
            symmetric_block(block(s1), Block { rows: n1, ..zb }, wb);
        } else {
            // Small n1: one product G = Z W^T = [W C W^T; W W^T] costs less than two
            // triangular ones; M takes G's blocks swapped.
            let g = BlockMut {
                data: &mut self.g,
                rows: 2 * n1,
                cols: n1,
                stride: 2 * n1,
            };
            gemm_blocks(g, 1.0, zb, Op::N, wb, Op::T, 0.0);
            for j in 0..n1 {
                let gc = &self.g[j * 2 * n1..(j + 1) * 2 * n1];
                self.m[j * n1..(j + 1) * n1].copy_from_slice(&gc[n1..]);
                self.m[(n1 + j) * n1..(n1 + j + 1) * n1].copy_from_slice(&gc[..n1]);
            }
        }
        // out = -(M - [2 I, 0]) Z / tau_w = (2 W C - M Z) / tau_w: the first block of
        // M multiplies Z's top half, W C.
        for i in 0..n1 {
            self.m[i * n1 + i] -= 2.0;
        }
        let mb = Block {
            data: &self.m,
            rows: n1,
            cols: 2 * n1,
            stride: n1,
        };
        let ob = BlockMut {
            data: out,
            rows: n1,
            cols: n0,
            stride: n1,
        };
        gemm_blocks(ob, -1.0 / tau_w, mb, Op::N, zb, Op::N, 0.0);
    }

    /// Z = [W C; W].
    fn stack(&mut self, wb: Block, c: &Moment) {
        let n1 = self.n1;
        fn top(z: &mut [f64], n1: usize, cols: usize) -> BlockMut<'_> {
            BlockMut {
                data: z,
                rows: n1,
                cols,
                stride: 2 * n1,
            }
        }
        let cols = wb.cols;
        match c {
            Moment::Diagonal(d) => stack_diagonal(&mut self.z, wb.data, d.as_slice(), n1),
            Moment::Matrix(cm) => {
                stack_bottom(&mut self.z, wb.data, n1);
                let z = top(&mut self.z, n1, cols);
                gemm_blocks(z, 1.0, wb, Op::N, Block::of(cm), Op::N, 0.0);
            }
            Moment::Samples(x) => {
                // scratch = W X^T (n1 x b), W C = scratch X / b.
                stack_bottom(&mut self.z, wb.data, n1);
                if self.sam.shape() != (n1, x.nrows()) {
                    self.sam = DMatrix::zeros(n1, x.nrows());
                }
                let sam = BlockMut {
                    data: self.sam.as_mut_slice(),
                    rows: n1,
                    cols: x.nrows(),
                    stride: n1,
                };
                gemm_blocks(sam, 1.0, wb, Op::N, Block::of(x), Op::T, 0.0);
                let b = 1.0 / x.nrows() as f64;
                let sam = Block::of(&self.sam);
                gemm_blocks(
                    top(&mut self.z, n1, cols),
                    b,
                    sam,
                    Op::N,
                    Block::of(x),
                    Op::N,
                    0.0,
                );
            }
        }
    }
}
