//! The fast/slow split ([`SplitSystem`]) of the multilayer [`CoupledNet`] for the IMEX
//! method ([`Method::Imex`](crate::solver::Method::Imex)): the neurons of all held
//! samples are the fast (implicit) block, with their whole right-hand side
//!
//!   g_k = (-Z_k + s_k(a_k)) / tau_k,   a_k = W_k Z_{k-1} + W_{k+1}^T Z_{k+1},
//!
//! the weights the slow (explicit) block. As in the one-layer split
//! ([`crate::dynamics::split`]) the coupling s_k(a_k) stays in g: its Lipschitz
//! constant ~ |D W| / tau_k is as stiff as -Z_k / tau_k, and a stage's W is known
//! before its Z is solved.
//!
//! J_I = dg/dZ couples the units of one sample only, so it is block-diagonal over the
//! B held samples; sample b's block (N = n_1 + ... + n_K rows, layers in order) is
//!
//!   J_b = T^-1 (-I + D_b C),   T = diag(tau_k I_{n_k}),   D_b = diag(s'_k(a_k[:, b])),
//!
//! C the symmetric layer coupling with blocks C_{k,k-1} = W_k, C_{k,k+1} = W_{k+1}^T
//! (docs/theory.md §10.7; Z_0 = X is clamped, so W_1 has no block). g is not affine in
//! Z (s is nonlinear), so the IMEX stages take simplified Newton iterations with
//! I - hg J_b frozen at the step's start, one dense LU per sample and step.

use super::CoupledNet;
use crate::solver::SplitSystem;
use nalgebra::DMatrix;

/// Work arrays of the split, sized once for the held batch (B samples): no right-hand
/// side, factorisation or solve allocates.
pub(crate) struct SplitWork {
    /// a_k (n_k x B), k = 1..K.
    pub(super) a: Vec<DMatrix<f64>>,
    /// N: the free units of one sample.
    n: usize,
    /// LU factors of I - hg J_b (N x N column-major, unit lower triangle implied), one
    /// block per sample.
    lu: Vec<f64>,
    /// Row interchanges of each block's LU (N per sample).
    piv: Vec<usize>,
    /// One sample's right-hand side during a solve.
    r: Vec<f64>,
}

impl SplitWork {
    /// Work arrays for weights of these shapes and B held samples.
    pub(super) fn new(shapes: &[(usize, usize)], b: usize) -> Self {
        let n = shapes.iter().map(|s| s.0).sum::<usize>();
        SplitWork {
            a: shapes.iter().map(|s| DMatrix::zeros(s.0, b)).collect(),
            n,
            lu: vec![0.0; n * n * b],
            piv: vec![0; n * b],
            r: vec![0.0; n],
        }
    }
}

/// LU factorisation with partial pivoting of the n x n column-major `m` in place
/// (Golub & Van Loan, Matrix Computations, Alg. 3.4.1); false when a pivot is zero or
/// not finite (the matrix is singular: the step is rejected and retried smaller).
fn lu_factor(m: &mut [f64], n: usize, piv: &mut [usize]) -> bool {
    for j in 0..n {
        let (p, big) = (j..n)
            .map(|i| (i, m[i + j * n].abs()))
            .fold((j, -1.0), |acc, x| if x.1 > acc.1 { x } else { acc });
        if !(big > 0.0 && big.is_finite()) {
            return false;
        }
        piv[j] = p;
        if p != j {
            for c in 0..n {
                m.swap(j + c * n, p + c * n);
            }
        }
        let inv = 1.0 / m[j + j * n];
        for i in j + 1..n {
            m[i + j * n] *= inv;
        }
        for c in j + 1..n {
            let f = m[j + c * n];
            if f != 0.0 {
                for i in j + 1..n {
                    m[i + c * n] -= m[i + j * n] * f;
                }
            }
        }
    }
    true
}

/// r <- A^-1 r for the factors of [`lu_factor`] (P A = L U: all row interchanges
/// first, as they were applied to whole rows, then the two triangular solves).
fn lu_solve(m: &[f64], n: usize, piv: &[usize], r: &mut [f64]) {
    for (j, &p) in piv.iter().enumerate() {
        r.swap(j, p);
    }
    for j in 0..n {
        let rj = r[j];
        for i in j + 1..n {
            r[i] -= m[i + j * n] * rj;
        }
    }
    for j in (0..n).rev() {
        r[j] /= m[j + j * n];
        let rj = r[j];
        for i in 0..j {
            r[i] -= m[i + j * n] * rj;
        }
    }
}

impl CoupledNet<'_> {
    /// Row (and column) of unit i of layer k within a sample's block.
    fn block_index(&self, k: usize, i: usize) -> usize {
        (1..k).map(|j| self.width(j)).sum::<usize>() + i
    }

    /// m = shift I - hg J_b (module docs) for sample b at state y, with the
    /// pre-activations a; m is N x N column-major, overwritten.
    fn block_into(
        &self,
        y: &[f64],
        a: &[DMatrix<f64>],
        b: usize,
        (shift, hg): (f64, f64),
        m: &mut [f64],
    ) {
        let n = self.block_index(self.depth() + 1, 0);
        m.fill(0.0);
        for k in 1..=self.depth() {
            let (c, act) = (hg / self.tau(k), self.activation(k));
            let below = (k > 1).then(|| (self.weight(y, k), self.block_index(k - 1, 0)));
            let above =
                (k < self.depth()).then(|| (self.weight(y, k + 1), self.block_index(k + 1, 0)));
            for i in 0..self.width(k) {
                let row = self.block_index(k, i);
                m[row + row * n] = shift + c;
                let cd = c * act.ds(i, a[k - 1][(i, b)]);
                if let Some((w, at)) = &below {
                    for j in 0..w.ncols() {
                        m[row + (at + j) * n] -= cd * w[(i, j)];
                    }
                }
                if let Some((w, at)) = &above {
                    for j in 0..w.nrows() {
                        m[row + (at + j) * n] -= cd * w[(j, i)];
                    }
                }
            }
        }
    }

    /// J_I = dg/dZ at y (n_f x n_f, in the state's order: layer-major, then sample,
    /// then unit), block-diagonal over the samples (module docs); for checks against
    /// differences.
    pub fn fast_jacobian(&self, y: &[f64]) -> DMatrix<f64> {
        let nf = self.neuron_dim();
        let mut work = self.work.borrow_mut();
        self.drives_into(y, &mut work.a);
        let n = work.n;
        let mut m = vec![0.0; n * n];
        let mut jac = DMatrix::zeros(nf, nf);
        for b in 0..self.samples() {
            // shift 0, hg = -1: m = J_b.
            self.block_into(y, &work.a, b, (0.0, -1.0), &mut m);
            for (k, i) in self.units() {
                for (l, j) in self.units() {
                    let (r, c) = (self.block_index(k, i), self.block_index(l, j));
                    jac[(self.state_index(k, b, i), self.state_index(l, b, j))] = m[r + c * n];
                }
            }
        }
        jac
    }

    /// All units (k, i) of one sample, layers in order.
    fn units(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (1..=self.depth()).flat_map(move |k| (0..self.width(k)).map(move |i| (k, i)))
    }

    /// Index in the state of unit i of layer k, sample b.
    fn state_index(&self, k: usize, b: usize, i: usize) -> usize {
        self.layer_offset(k) + b * self.width(k) + i
    }
}

impl SplitSystem for CoupledNet<'_> {
    fn n_fast(&self) -> usize {
        self.neuron_dim()
    }

    fn rhs_implicit(&self, _t: f64, y: &[f64], g: &mut [f64]) {
        let mut work = self.work.borrow_mut();
        self.drives_into(y, &mut work.a);
        self.neurons_from(&work.a, y, g);
    }

    fn rhs_explicit(&self, _t: f64, y: &[f64], fe: &mut [f64]) {
        let (fz, fw) = fe.split_at_mut(self.neuron_dim());
        fz.fill(0.0);
        let (z, w) = self.unpack(y);
        let drives: Vec<DMatrix<f64>> = (1..=w.len())
            .map(|k| super::settle::drive(&w, &z, k))
            .collect();
        self.weights_from(z, &w, &drives, fw);
    }

    fn prepare_implicit(&self, _t: f64, y: &[f64], hg: f64) -> bool {
        let mut guard = self.work.borrow_mut();
        let work = &mut *guard;
        self.drives_into(y, &mut work.a);
        let n = work.n;
        let blocks = work
            .lu
            .chunks_exact_mut(n * n)
            .zip(work.piv.chunks_exact_mut(n));
        for (b, (m, piv)) in blocks.enumerate() {
            self.block_into(y, &work.a, b, (1.0, hg), m);
            if !lu_factor(m, n, piv) {
                return false;
            }
        }
        true
    }

    fn solve_implicit(&self, _hg: f64, r: &mut [f64]) {
        let mut guard = self.work.borrow_mut();
        let work = &mut *guard;
        let n = work.n;
        for b in 0..self.samples() {
            for (k, i) in self.units() {
                work.r[self.block_index(k, i)] = r[self.state_index(k, b, i)];
            }
            let (m, piv) = (
                &work.lu[b * n * n..(b + 1) * n * n],
                &work.piv[b * n..(b + 1) * n],
            );
            lu_solve(m, n, piv, &mut work.r);
            for (k, i) in self.units() {
                r[self.state_index(k, b, i)] = work.r[self.block_index(k, i)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{lu_factor, lu_solve};

    /// A 3 x 3 system that needs a row interchange (zero leading entry): the LU solve
    /// reproduces the known solution to rounding (1e-14 relative: the matrix's
    /// condition number is ~10), and a singular matrix is refused.
    #[test]
    fn lu_solves_with_pivoting_and_refuses_singular() {
        // Column-major A = [[0, 2, 1], [1, 1, 0], [3, 0, 1]].
        let a = [0.0, 1.0, 3.0, 2.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        let x = [1.0, -2.0, 0.5];
        let mut r: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| a[i + 3 * j] * x[j]).sum())
            .collect();
        let (mut m, mut piv) = (a.to_vec(), [0; 3]);
        assert!(lu_factor(&mut m, 3, &mut piv));
        lu_solve(&m, 3, &piv, &mut r);
        for (got, want) in r.iter().zip(&x) {
            assert!((got - want).abs() <= 1e-14 * 2.0, "{r:?} vs {x:?}");
        }
        let mut singular = vec![1.0, 2.0, 2.0, 4.0];
        assert!(!lu_factor(&mut singular, 2, &mut [0; 2]));
    }
}
