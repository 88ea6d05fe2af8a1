//! DOP853 (Hairer's explicit Runge-Kutta pair of order 8(5,3)) without allocation per
//! step. Tableau, error estimate, step-size controller, initial step, stiffness test
//! and counters are those of ode_solvers 0.6.2's `Dop853` in `Sparse` mode, evaluated
//! in the same floating-point order, so the steps and results are bit for bit those of
//! ode_solvers (tests/dop853_port.rs runs the two side by side). What differs is the
//! memory traffic and the vector width: ode_solvers forms one temporary vector per
//! term of every stage sum (about 70 allocations and 5 passes over memory per term
//! per step), here each stage is one fused pass over preallocated work vectors,
//! compiled for AVX-512 or AVX2 when the CPU has them ([`crate::simd`]). At 25,088
//! unknowns (the 784 x 32 averaged LMSER benchmark) ode_solvers' own time was about
//! 110 ms of a 0.35 s run; the port does 49 steps of a trivial right-hand side in
//! 11 ms.
//!
//! Terms with a zero coefficient are skipped; ode_solvers adds them as k * 0, which
//! changes nothing for finite values (x + 0 = x; only the sign of an exact zero sum
//! could differ, and no output depends on it).

mod dense;
mod tableau;
use tableau::{A, B, BHH, C, E};

use super::carry::{Controller, Pair, Settings, hinit};

crate::simd::multiversion! {
    /// out_i = y_i + sum_m k_m,i c_m, summed left to right (as y += k c, term by term).
    pub(super) fn combo<const S: usize>(out: &mut [f64], y: &[f64], ks: [&[f64]; S], c: [f64; S]) {
        let n = out.len();
        let y = &y[..n];
        let ks = ks.map(|k| &k[..n]);
        for i in 0..n {
            let mut acc = y[i];
            for m in 0..S {
                acc += ks[m][i] * c[m];
            }
            out[i] = acc;
        }
    }
}

crate::simd::multiversion! {
    /// y_new = y + h sum_j b_j k_j and, per component, the squared scaled error
    /// estimates t1 (5th order) and t2 (3rd order), in ode_solvers' order.
    #[allow(clippy::too_many_arguments)]
    fn solution_terms(
        y_new: &mut [f64],
        t1: &mut [f64],
        t2: &mut [f64],
        y: &[f64],
        k: [&[f64]; 12],
        h: f64,
        rtol: f64,
        atol: f64,
    ) {
        let n = y_new.len();
        let (y, t1, t2) = (&y[..n], &mut t1[..n], &mut t2[..n]);
        let k = k.map(|v| &v[..n]);
        for i in 0..n {
            let bs = k[0][i] * B[0]
                + k[5][i] * B[5]
                + k[6][i] * B[6]
                + k[7][i] * B[7]
                + k[8][i] * B[8]
                + k[9][i] * B[9]
                + k[10][i] * B[10]
                + k[11][i] * B[11];
            let yn = y[i] + bs * h;
            let ee = k[0][i] * E[0]
                + k[5][i] * E[5]
                + k[6][i] * E[6]
                + k[7][i] * E[7]
                + k[8][i] * E[8]
                + k[9][i] * E[9]
                + k[10][i] * E[10]
                + k[11][i] * E[11];
            let eb = bs - k[0][i] * BHH[0] - k[8][i] * BHH[1] - k[11][i] * BHH[2];
            let sc = atol + y[i].abs().max(yn.abs()) * rtol;
            y_new[i] = yn;
            t1[i] = (ee / sc) * (ee / sc);
            t2[i] = (eb / sc) * (eb / sc);
        }
    }
}

/// The work vectors of an integration of dimension n, reused across steps. After
/// [`Pair::commit`], `k[0]` holds f at the new point (the next step's first stage),
/// `f_new` the old first stage, `k[1..12]` stages 2..12 of the committed step and
/// `y_old` its start: what the dense output needs.
pub(super) struct Work {
    k: Vec<Vec<f64>>,
    y_stage: Vec<f64>,
    y_new: Vec<f64>,
    y_old: Vec<f64>,
    f_new: Vec<f64>,
    dense: dense::Dense,
    t1: Vec<f64>,
    t2: Vec<f64>,
    /// (j, a_{s,j}) with a_{s,j} != 0, per stage s = 2..12.
    terms: Vec<Vec<(usize, f64)>>,
}

impl Work {
    pub(super) fn new(n: usize) -> Self {
        let z = || vec![0.0; n];
        Work {
            k: (0..12).map(|_| z()).collect(),
            y_stage: z(),
            y_new: z(),
            y_old: z(),
            f_new: z(),
            dense: dense::Dense::new(n),
            t1: z(),
            t2: z(),
            terms: A
                .iter()
                .map(|row| {
                    row.iter()
                        .enumerate()
                        .filter(|(_, a)| **a != 0.0)
                        .map(|(j, a)| (j, *a))
                        .collect()
                })
                .collect(),
        }
    }

    /// y_stage = y + sum_j (h a_{s,j}) k_j for stage s (1-based, 2..12).
    fn stage_input(&mut self, s: usize, y: &[f64], h: f64) {
        let terms = &self.terms[s - 2];
        let k = &self.k;
        let out = &mut self.y_stage;
        macro_rules! go {
            ($n:literal) => {
                combo::<$n>(
                    out,
                    y,
                    std::array::from_fn(|m| k[terms[m].0].as_slice()),
                    std::array::from_fn(|m| h * terms[m].1),
                )
            };
        }
        match terms.len() {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            4 => go!(4),
            5 => go!(5),
            6 => go!(6),
            7 => go!(7),
            8 => go!(8),
            9 => go!(9),
            n => unreachable!("stage with {n} terms"),
        }
    }

    /// y_new = y + h sum_j b_j k_j and the error norm of the step (ode_solvers' formula:
    /// the 5th-order estimate weighted by the 3rd-order one).
    fn solution_and_error(&mut self, y: &[f64], h: f64, rtol: f64, atol: f64) -> f64 {
        let n = y.len();
        let k: [&[f64]; 12] = std::array::from_fn(|j| &self.k[j][..n]);
        let (y_new, t1, t2) = (&mut self.y_new[..n], &mut self.t1[..n], &mut self.t2[..n]);
        solution_terms(y_new, t1, t2, y, k, h, rtol, atol);
        // Sequential sums, as ode_solvers.
        let (mut err, mut err2) = (0.0, 0.0);
        for i in 0..n {
            err += t1[i];
            err2 += t2[i];
        }
        let mut deno = err + 0.01 * err2;
        if deno <= 0.0 {
            deno = 1.0;
        }
        h.abs() * err * (1.0 / (deno * n as f64)).sqrt()
    }

    /// h sqrt(|f_new - k_12|^2 / |y_new - y_stage12|^2): the stiffness estimate (the
    /// sums vectorised, `simd::squared_distance`: ode_solvers' value to rounding; it
    /// only decides the stiffness test and the dense-output step limit).
    fn stiffness(&mut self, h: f64) -> f64 {
        let num = crate::simd::squared_distance(&self.f_new, &self.k[11]);
        let den = crate::simd::squared_distance(&self.y_new, &self.y_stage);
        if den > 0.0 {
            h * (num / den).sqrt()
        } else {
            0.0
        }
    }
}

impl Pair for Work {
    const ATTEMPT_EVALS: u32 = 11;
    const STIFF: f64 = 6.1;
    /// On y' = lambda y the order-7 interpolant's error inside a step is <= 0.05 of
    /// the step's start value for h |lambda| <= 4 (0.9 at 5; the step end's own
    /// error stays small up to the stability edge, ~6): see src/solver/dense_tests.rs.
    const DENSE_RHO: f64 = 4.0;

    fn new(n: usize) -> Self {
        Work::new(n)
    }

    /// ode_solvers' DOP853 controller: beta 0, alpha 1/8, step ratios 0.333..6.
    fn controller(h_max: f64) -> Controller {
        Controller::new(1.0 / 8.0 - 0.0 * 0.2, 0.0, 0.333, 6.0, h_max)
    }

    fn initial_step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        y: &[f64],
        s: &Settings,
    ) -> f64 {
        hinit(
            f,
            t,
            y,
            s,
            0.125,
            [&mut self.t1, &mut self.t2, &mut self.y_stage],
        )
    }

    fn first_stage<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, f: &mut F, t: f64, y: &[f64]) {
        f(t, y, &mut self.k[0]);
    }

    fn attempt<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        y: &[f64],
        h: f64,
        rtol: f64,
        atol: f64,
    ) -> f64 {
        for st in 2..=12 {
            self.stage_input(st, y, h);
            f(t + h * C[st - 1], &self.y_stage, &mut self.k[st - 1]);
        }
        self.solution_and_error(y, h, rtol, atol)
    }

    fn accepted<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, f: &mut F, t: f64, h: f64) -> u32 {
        f(t + h, &self.y_new, &mut self.f_new);
        1
    }

    fn stiffness_estimate(&mut self, h: f64) -> f64 {
        self.stiffness(h)
    }

    fn commit(&mut self, y: &mut Vec<f64>) {
        let (k0, f_new) = (&mut self.k[0], &mut self.f_new);
        std::mem::swap(k0, f_new);
        std::mem::swap(&mut self.y_old, y);
        std::mem::swap(y, &mut self.y_new);
    }

    fn prepare_dense<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        h: f64,
        y: &[f64],
    ) -> u32 {
        // k_1 of the step (now f_new), k_2..k_12, and k_13 = f at its end (now k[0]).
        let k: [&[f64]; 13] = std::array::from_fn(|j| match j {
            0 => self.f_new.as_slice(),
            12 => self.k[0].as_slice(),
            _ => self.k[j].as_slice(),
        });
        self.dense.prepare(f, t, h, &self.y_old, y, k)
    }

    fn interpolate(&self, theta: f64, out: &mut [f64]) {
        self.dense.interpolate(&self.y_old, theta, out);
    }

    fn step_start(&self) -> &[f64] {
        &self.y_old
    }
}
