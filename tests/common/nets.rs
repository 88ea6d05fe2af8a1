//! Random LMSER nets for the Theorem 1 tests (theorem1.rs, theorem1_stability.rs)
//! and the stacked form of docs/theory.md §1.3-§1.4 written out here from the
//! weight matrices, independently of the library: T, the drive I and
//! grad E = s^-1(z) - (T z + I).

use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::{Method, OdeSystem, SolverOptions};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The solver tolerances of the Theorem 1 runs.
pub const RTOL: f64 = 1e-10;
pub const ATOL: f64 = 1e-12;

pub fn rng(seed: u64) -> ChaCha8Rng {
    lmser::data::rng(seed, 77)
}

pub fn normal(r: &mut ChaCha8Rng) -> f64 {
    lmser::data::normal(r)
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Logistic,
    Tanh,
    /// A random logistic or tanh activation per layer.
    Mixed,
}

/// A seeded random K-layer net (K = 3 or 4), weights N(0, scale^2 / n_{k-1}), random
/// tau per layer in [0.5, 2], random input N(0, 1), and an initial state uniform
/// in the middle 90 % of each unit's range. Every third net has its top clamped
/// to a random label inside the range.
pub fn random_net(
    seed: u64,
    kind: Kind,
    scale: f64,
    depth: usize,
    clamp: bool,
) -> (NeuronDynamics, Vec<f64>) {
    let mut r = rng(seed);
    let mut sizes = vec![r.random_range(2..=6usize)];
    for _ in 0..depth {
        sizes.push(r.random_range(2..=5usize));
    }
    let weights: Vec<DMatrix<f64>> = sizes
        .windows(2)
        .map(|w| {
            let sd = scale / (w[0] as f64).sqrt();
            DMatrix::from_fn(w[1], w[0], |_, _| sd * normal(&mut r))
        })
        .collect();
    let activations: Vec<Activation> = (0..depth)
        .map(|_| {
            let tanh = match kind {
                Kind::Logistic => false,
                Kind::Tanh => true,
                Kind::Mixed => r.random_bool(0.5),
            };
            if tanh {
                Activation::Tanh {
                    beta: r.random_range(0.5..2.0),
                }
            } else {
                Activation::Logistic
            }
        })
        .collect();
    let tau: Vec<f64> = (0..depth).map(|_| r.random_range(0.5..2.0)).collect();
    let top = if clamp {
        let (lo, hi) = activations[depth - 1].range();
        Top::Clamped(DVector::from_fn(sizes[depth], |_, _| {
            lo + (hi - lo) * r.random_range(0.05..0.95)
        }))
    } else {
        Top::Free
    };
    let x = DVector::from_fn(sizes[0], |_, _| normal(&mut r));
    let net = Network::new(sizes, weights, activations, tau, top).unwrap();
    let dyn_ = NeuronDynamics::new(net, x);
    let net = dyn_.network();
    let mut z0 = vec![0.0; dyn_.dim()];
    for k in net.free_layers() {
        let (lo, hi) = net.activation(k).range();
        for j in 0..net.sizes()[k] {
            z0[net.offset(k) + j] = lo + (hi - lo) * r.random_range(0.05..0.95);
        }
    }
    (dyn_, z0)
}

/// Offsets of the free layers in the stacked state, from the layer sizes:
/// `off[k]` = n_1 + ... + n_{k-1} for free layers k = 1..=K (K-1 when the top is
/// clamped); `off[0]` is unused.
pub fn offsets(net: &Network) -> Vec<usize> {
    let free = match net.top() {
        Top::Free => net.depth(),
        Top::Clamped(_) => net.depth() - 1,
    };
    let mut off = vec![0; free + 1];
    for k in 2..=free {
        off[k] = off[k - 1] + net.sizes()[k - 1];
    }
    off
}

/// T of docs/theory.md §1.3 written out from the weight matrices (not from
/// `Network::coupling`): over the free layers, block (k, k-1) is W_k (n_k x n_{k-1})
/// and block (k-1, k) is W_k^T, for k = 2..=last free layer; every other block,
/// the diagonal ones included, is zero.
pub fn coupling_from_weights(net: &Network) -> DMatrix<f64> {
    let off = offsets(net);
    let last = off.len() - 1;
    let n = off[last] + net.sizes()[last];
    let mut t = DMatrix::zeros(n, n);
    for k in 2..=last {
        let w = net.weight(k);
        for i in 0..w.nrows() {
            for j in 0..w.ncols() {
                t[(off[k] + i, off[k - 1] + j)] = w[(i, j)];
                t[(off[k - 1] + j, off[k] + i)] = w[(i, j)];
            }
        }
    }
    t
}

/// The input vector I of the stacked form over the free layers: W_1 x on layer 1 and,
/// when the top is clamped, W_K^T label on layer K-1.
pub fn input_vector(d: &NeuronDynamics) -> DVector<f64> {
    let net = d.network();
    let off = offsets(net);
    let mut i = DVector::zeros(d.dim());
    let w1x = net.weight(1) * d.input();
    i.rows_mut(0, w1x.len()).copy_from(&w1x);
    if let Top::Clamped(label) = net.top() {
        let k = net.depth();
        let u = net.weight(k).transpose() * label;
        let mut block = i.rows_mut(off[k - 1], u.len());
        block += &u;
    }
    i
}

/// grad E(z) = s^-1(z) - (T z + I), written from docs/theory.md §1.4 with T and I
/// built here from the weights, not from the library's right-hand side or coupling.
pub fn grad_energy(d: &NeuronDynamics, z: &[f64]) -> DVector<f64> {
    let net = d.network();
    let off = offsets(net);
    let h = coupling_from_weights(net) * DVector::from_column_slice(z) + input_vector(d);
    let mut g = DVector::zeros(z.len());
    for (k, &o) in off.iter().enumerate().skip(1) {
        let s = net.activation(k);
        for j in 0..net.sizes()[k] {
            let i = o + j;
            g[i] = s.inverse(j, z[i]) - h[i];
        }
    }
    g
}

pub fn opts(method: Method, t_end: f64, output_dt: f64) -> SolverOptions {
    let mut o = SolverOptions::new(method, t_end);
    o.rtol = RTOL;
    o.atol = ATOL;
    o.output_dt = output_dt;
    o
}
