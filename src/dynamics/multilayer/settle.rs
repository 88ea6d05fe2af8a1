//! The settled state z* of a K-layer net with the input clamped, over a batch.
//!
//! z* is a fixed point z_k = s_k(W_k z_{k-1} + W_{k+1}^T z_{k+1}) (k = 1..K, z_0 = x,
//! no top-down term at the top), i.e. a steady state of the neuron ODE
//! tau dz_k/dt = -z_k + s_k(y_k + u_k) (Xu 1993, eqn 2). It is reached from the
//! feed-forward pass z_k = s_k(W_k z_{k-1}) by block Gauss-Seidel sweeps over the
//! layers. Because the coupling has no links inside a layer, the update of layer k is
//! the exact minimiser of the Lyapunov energy E(z) over z_k with the other layers
//! held, so every sweep lowers E (block coordinate descent on Theorem 1's energy,
//! docs/theory.md §10.2) and the sweeps end at a stationary point of E.

use super::{Stack, apply_ds, apply_s};
use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// Stopping rule of the settling sweeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettleOptions {
    /// Stop once no activity moves by more than this in a sweep (default 1e-12).
    pub tol: f64,
    /// Give up after this many sweeps (default 100,000).
    pub max_sweeps: usize,
    /// |z| beyond this counts as divergence (linear units whose energy is unbounded).
    pub bound: f64,
}

impl Default for SettleOptions {
    fn default() -> Self {
        SettleOptions {
            tol: 1e-12,
            max_sweeps: 100_000,
            bound: 1e8,
        }
    }
}

/// A settled batch: activities z_0 = x, z_1..z_K and the slopes s'_k at the settled
/// pre-activations y_k + u_k.
#[derive(Debug, Clone)]
pub struct Settled {
    /// z[k] is layer k (n_k x B); z[0] = x.
    pub z: Vec<DMatrix<f64>>,
    /// ds[k-1] = s'_k(y_k + u_k) for k = 1..K (n_k x B).
    pub ds: Vec<DMatrix<f64>>,
    /// Sweeps used.
    pub sweeps: usize,
}

impl Settled {
    /// Layer K's activities.
    pub fn top(&self) -> &DMatrix<f64> {
        self.z.last().expect("at least the input")
    }

    /// The reconstruction u_0 = W_1^T z_1.
    pub fn reconstruction(&self, w: &[DMatrix<f64>]) -> DMatrix<f64> {
        w[0].tr_mul(&self.z[1])
    }
}

/// Pre-activation y_k + u_k = W_k z_{k-1} + W_{k+1}^T z_{k+1} of layer k.
pub(crate) fn drive(w: &[DMatrix<f64>], z: &[DMatrix<f64>], k: usize) -> DMatrix<f64> {
    let mut a = &w[k - 1] * &z[k - 1];
    if k < w.len() {
        a.gemm_tr(1.0, &w[k], &z[k + 1], 1.0);
    }
    a
}

/// What is held during settling besides the clamped input: input units set free (they
/// then follow the top-down signal, z_0 = clip(W_1^T z_1) to the pixel range [0, 1],
/// starting from their value in x), and the top layer's first rows clamped (e.g. to a
/// one-hot label).
#[derive(Debug, Clone, Copy, Default)]
pub struct Clamp<'a> {
    /// One flag per input unit: true = free.
    pub free_input: Option<&'a [bool]>,
    /// The first rows of layer K held at these values (c x B).
    pub top: Option<&'a DMatrix<f64>>,
}

/// Settles with some input units free and the top partly clamped (recall and
/// generation, docs/theory.md §10.8): the sweeps of [`settle`], each followed by the
/// free input units, with the clamped units held.
pub fn settle_clamped(
    stack: &Stack,
    w: &[DMatrix<f64>],
    x: &DMatrix<f64>,
    clamp: Clamp,
    opts: SettleOptions,
) -> Result<Settled> {
    let depth = stack.depth();
    let mut z = feedforward(stack, w, x);
    hold_top(&mut z, clamp.top);
    let sweeps = sweep(stack, w, &mut z, clamp, opts)?;
    let ds = (1..=depth)
        .map(|k| apply_ds(stack.activation(k), &drive(w, &z, k)))
        .collect();
    Ok(Settled { z, ds, sweeps })
}

fn not_settled(sweeps: usize, moved: f64) -> Error {
    Error::SolverFailed {
        time: sweeps as f64,
        reason: format!("settling did not converge in {sweeps} sweeps (last move {moved:e})"),
        hint: "the net's energy may have no minimum near the feed-forward pass; use smaller weights (init.scale) or bounded units".into(),
    }
}

fn hold_top(z: &mut [DMatrix<f64>], top: Option<&DMatrix<f64>>) {
    if let Some(t) = top {
        let last = z.len() - 1;
        z[last].rows_mut(0, t.nrows()).copy_from(t);
    }
}

fn feedforward(stack: &Stack, w: &[DMatrix<f64>], x: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
    let mut z = Vec::with_capacity(stack.depth() + 1);
    z.push(x.clone());
    for k in 1..=stack.depth() {
        let y = &w[k - 1] * &z[k - 1];
        z.push(apply_s(stack.activation(k), &y));
    }
    z
}

/// Settles the batch `x` (n_0 x B) from the feed-forward pass; see the module docs.
pub fn settle(
    stack: &Stack,
    w: &[DMatrix<f64>],
    x: &DMatrix<f64>,
    opts: SettleOptions,
) -> Result<Settled> {
    let depth = stack.depth();
    let mut z = feedforward(stack, w, x);
    let mut sweeps = 0;
    // One layer has no top-down input: the feed-forward pass is the fixed point.
    if depth > 1 {
        sweeps = sweep(stack, w, &mut z, Clamp::default(), opts)?;
    }
    let ds = (1..=depth)
        .map(|k| apply_ds(stack.activation(k), &drive(w, &z, k)))
        .collect();
    Ok(Settled { z, ds, sweeps })
}

/// Block Gauss-Seidel sweeps until no activity moves by more than `opts.tol`; with a
/// clamp, the clamped top units are held and the free input units follow
/// clip(W_1^T z_1, 0, 1) after each sweep.
fn sweep(
    stack: &Stack,
    w: &[DMatrix<f64>],
    z: &mut [DMatrix<f64>],
    clamp: Clamp,
    opts: SettleOptions,
) -> Result<usize> {
    let depth = stack.depth();
    let mut sweeps = 0;
    loop {
        let mut moved = 0.0f64;
        for k in 1..=depth {
            let mut new = apply_s(stack.activation(k), &drive(w, z, k));
            if k == depth
                && let Some(t) = clamp.top
            {
                // Clamped units do not move: hold them before measuring the move.
                new.rows_mut(0, t.nrows()).copy_from(t);
            }
            moved = moved.max((&new - &z[k]).amax());
            z[k] = new;
        }
        if let Some(free) = clamp.free_input {
            let u0 = w[0].tr_mul(&z[1]);
            for (i, _) in free.iter().enumerate().filter(|(_, f)| **f) {
                for b in 0..u0.ncols() {
                    let v = u0[(i, b)].clamp(0.0, 1.0);
                    moved = moved.max((v - z[0][(i, b)]).abs());
                    z[0][(i, b)] = v;
                }
            }
        }
        sweeps += 1;
        guard(z, opts.bound, sweeps)?;
        if moved <= opts.tol {
            return Ok(sweeps);
        }
        if sweeps >= opts.max_sweeps {
            return Err(not_settled(sweeps, moved));
        }
    }
}

/// Divergence guard: every activity finite and within `bound`.
fn guard(z: &[DMatrix<f64>], bound: f64, sweeps: usize) -> Result<()> {
    for (k, layer) in z.iter().enumerate().skip(1) {
        if let Some((i, v)) = layer
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || v.abs() > bound)
        {
            return Err(Error::Diverged {
                time: sweeps as f64,
                quantity: format!("z{k}_{} of sample {}", i % layer.nrows() + 1, i / layer.nrows() + 1),
                value: *v,
                hint: "linear units settle only when I - T is positive definite; use smaller weights or bounded units".into(),
            });
        }
    }
    Ok(())
}
