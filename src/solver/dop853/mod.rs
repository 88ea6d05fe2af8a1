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

mod tableau;
use tableau::{A, B, BHH, C, E};

/// What went wrong, as ode_solvers' `IntegrationError` (mapped to messages by
/// `explicit::adaptive_interval`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Failure {
    /// More than `n_max` steps (the count reached).
    MaxSteps(u32),
    /// The step fell below the rounding of t.
    Underflow,
    /// 15 stiffness detections without 6 non-stiff steps between them.
    Stiffness,
}

/// Settings of one integration (as `Dop853::from_param`).
pub(super) struct Settings {
    pub rtol: f64,
    pub atol: f64,
    pub h_max: f64,
    /// Initial step; 0 = estimate it (two extra right-hand sides).
    pub h0: f64,
    pub n_max: u32,
    pub n_stiff: u32,
}

/// The outcome of one integration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outcome {
    /// Time of the last accepted step end (t0 if none).
    pub t: f64,
    /// The largest difference of consecutive accepted step ends.
    pub largest_step: f64,
    pub accepted: u32,
    pub rejected: u32,
    pub evals: u32,
    pub failure: Option<Failure>,
}

/// The step-size controller of ode_solvers (safety 0.9, beta 0, factors 1/6..3).
struct Controller {
    alpha: f64,
    facc1: f64,
    facc2: f64,
    fac_old: f64,
    h_max: f64,
    reject: bool,
    posneg: f64,
}

impl Controller {
    const SAFETY: f64 = 0.9;
    const BETA: f64 = 0.0;

    fn new(h_max: f64, posneg: f64) -> Self {
        Controller {
            alpha: 1.0 / 8.0 - Self::BETA * 0.2,
            facc1: 1.0 / 0.333,
            facc2: 1.0 / 6.0,
            fac_old: 1.0e-4,
            h_max: h_max.abs(),
            reject: false,
            posneg,
        }
    }

    /// Accepts (true) or rejects the step h with error `err`; the next step in h_new.
    fn accept(&mut self, err: f64, h: f64, h_new: &mut f64) -> bool {
        let fac11 = err.powf(self.alpha);
        let mut fac = fac11 * self.fac_old.powf(-Self::BETA);
        fac = self.facc2.max(self.facc1.min(fac / Self::SAFETY));
        *h_new = h / fac;
        if err <= 1.0 {
            self.fac_old = err.max(1.0e-4);
            if h_new.abs() > self.h_max {
                *h_new = self.posneg * self.h_max;
            }
            if self.reject {
                *h_new = self.posneg * h_new.abs().min(h.abs());
            }
            self.reject = false;
            true
        } else {
            *h_new = h / self.facc1.min(fac11 / Self::SAFETY);
            self.reject = true;
            false
        }
    }
}

/// sign(a, b) of ode_solvers: |a| with the sign of b (b = 0 counts as negative).
fn sign(a: f64, b: f64) -> f64 {
    if b > 0.0 { a.abs() } else { -a.abs() }
}

crate::simd::multiversion! {
    /// out_i = y_i + sum_m k_m,i c_m, summed left to right (as y += k c, term by term).
    fn combo<const S: usize>(out: &mut [f64], y: &[f64], ks: [&[f64]; S], c: [f64; S]) {
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

/// The work vectors of an integration of dimension n, reused across calls.
pub(super) struct Work {
    k: Vec<Vec<f64>>,
    y_stage: Vec<f64>,
    y_new: Vec<f64>,
    f_new: Vec<f64>,
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
            f_new: z(),
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

    pub(super) fn dim(&self) -> usize {
        self.y_stage.len()
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

    /// h sqrt(|f_new - k_12|^2 / |y_new - y_stage12|^2): the stiffness estimate (with
    /// nalgebra's dot, as ode_solvers).
    fn stiffness_estimate(&mut self, h: f64) -> f64 {
        let n = self.dim();
        for i in 0..n {
            self.t1[i] = self.f_new[i] - self.k[11][i];
            self.t2[i] = self.y_new[i] - self.y_stage[i];
        }
        let d1 = nalgebra::DVectorView::from_slice(&self.t1, n);
        let d2 = nalgebra::DVectorView::from_slice(&self.t2, n);
        let (num, den) = (d1.dot(&d1), d2.dot(&d2));
        if den > 0.0 {
            h * (num / den).sqrt()
        } else {
            0.0
        }
    }
}

/// ode_solvers' initial step estimate (Hairer's HINIT with order 8), indexed as
/// ode_solvers writes it.
#[allow(clippy::needless_range_loop)]
fn initial_step<F: FnMut(f64, &[f64], &mut [f64])>(
    f: &mut F,
    w: &mut Work,
    t: f64,
    t_end: f64,
    y: &[f64],
    s: &Settings,
) -> f64 {
    let n = y.len();
    let posneg = sign(1.0, t_end - t);
    f(t, y, &mut w.t1);
    let (mut d0, mut d1) = (0.0, 0.0);
    for i in 0..n {
        let sci = s.atol + y[i].abs() * s.rtol;
        d0 += (y[i] / sci) * (y[i] / sci);
        d1 += (w.t1[i] / sci) * (w.t1[i] / sci);
    }
    let mut h0 = if d0 < 1.0e-10 || d1 < 1.0e-10 {
        1.0e-6
    } else {
        0.01 * (d0 / d1).sqrt()
    };
    h0 = sign(h0.min(s.h_max.abs()), posneg);
    for i in 0..n {
        w.y_stage[i] = y[i] + w.t1[i] * h0;
    }
    f(t + h0, &w.y_stage, &mut w.t2);
    let mut d2 = 0.0;
    for i in 0..n {
        let sci = s.atol + y[i].abs() * s.rtol;
        d2 += ((w.t2[i] - w.t1[i]) / sci) * ((w.t2[i] - w.t1[i]) / sci);
    }
    d2 = d2.sqrt() / h0;
    let h1 = if d1.sqrt().max(d2.abs()) <= 1.0e-15 {
        1.0e-6f64.max(h0.abs() * 1.0e-3)
    } else {
        (0.01 / d1.sqrt().max(d2)).powf(0.125)
    };
    sign((100.0 * h0.abs()).min(h1.min(s.h_max.abs())), posneg)
}

/// Integrates y from t to t_end (y holds the state at the last accepted step end on
/// return). `stop` is asked after every accepted step (with the new state) and ends
/// the integration when it returns true, as ode_solvers' `solout`.
pub(super) fn integrate<F, G>(
    f: &mut F,
    stop: &mut G,
    t: f64,
    t_end: f64,
    y: &mut [f64],
    s: &Settings,
    w: &mut Work,
) -> Outcome
where
    F: FnMut(f64, &[f64], &mut [f64]),
    G: FnMut(&[f64]) -> bool,
{
    let mut out = Outcome {
        t,
        largest_step: 0.0,
        accepted: 0,
        rejected: 0,
        evals: 0,
        failure: None,
    };
    let posneg = sign(1.0, t_end - t);
    let mut ctl = Controller::new(s.h_max, posneg);
    let (mut x, mut h) = (t, s.h0);
    if h == 0.0 {
        h = initial_step(f, w, t, t_end, y, s);
        out.evals += 2;
    }
    let (mut last, mut h_new, mut n_step) = (false, 0.0, 0u32);
    let (mut iasti, mut non_stiff) = (0u32, 0u32);
    f(x, y, &mut w.k[0]);
    out.evals += 1;
    while !last {
        if n_step >= s.n_max {
            out.failure = Some(Failure::MaxSteps(n_step));
            return out;
        }
        if 0.1 * h.abs() <= f64::EPSILON * x.abs() {
            out.failure = Some(Failure::Underflow);
            return out;
        }
        if (x + 1.01 * h - t_end) * posneg > 0.0 {
            h = t_end - x;
            last = true;
        }
        n_step += 1;
        for st in 2..=12 {
            w.stage_input(st, y, h);
            let (k, ys) = (&mut w.k, &w.y_stage);
            f(x + h * C[st - 1], ys, &mut k[st - 1]);
        }
        out.evals += 11;
        let err = w.solution_and_error(y, h, s.rtol, s.atol);
        if ctl.accept(err, h, &mut h_new) {
            out.accepted += 1;
            f(x + h, &w.y_new, &mut w.f_new);
            out.evals += 1;
            if out.accepted.is_multiple_of(s.n_stiff) || iasti > 0 {
                if w.stiffness_estimate(h) > 6.1 {
                    non_stiff = 0;
                    iasti += 1;
                    if iasti == 15 {
                        out.failure = Some(Failure::Stiffness);
                        return out;
                    }
                } else {
                    non_stiff += 1;
                    if non_stiff == 6 {
                        iasti = 0;
                    }
                }
            }
            std::mem::swap(&mut w.k[0], &mut w.f_new);
            y.copy_from_slice(&w.y_new);
            let x_old = x;
            x += h;
            out.largest_step = out.largest_step.max(x - x_old);
            out.t = x;
            if stop(y) {
                last = true;
            }
            if last {
                return out;
            }
        } else {
            last = false;
            if out.accepted >= 1 {
                out.rejected += 1;
            }
        }
        h = h_new;
    }
    out
}
