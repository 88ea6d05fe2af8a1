//! DOPRI5 (Dormand and Prince's explicit Runge-Kutta pair of order 5(4), FSAL) without
//! allocation per step, with its dense output of order 4 (Hairer's CONTD5; Hairer,
//! Nørsett & Wanner, Solving ODEs I, §II.5-6). Error norm, controller (safety 0.9,
//! beta 0.04, step ratios 0.2..10), initial step and stiffness test are those of
//! ode_solvers 0.6.2's `Dopri5`, which lmser called before; the sums are formed in
//! another order (one fused pass per stage), so results agree with it to rounding.
//!
//! Dense output at t = t_old + theta h, theta1 = 1 - theta:
//! y(t) = y_old + theta (r1 + theta1 (r2 + theta (r3 + theta1 r4))), with
//! r1 = y_new - y_old, r2 = h k_1 - r1, r3 = r1 - h k_7 - r2 and
//! r4 = h (d_1 k_1 + d_3 k_3 + d_4 k_4 + d_5 k_5 + d_6 k_6 + d_7 k_7).

use super::carry::{Controller, Pair, Settings, hinit};
use super::dop853::combo;

/// a_{s,j} for stages s = 2..7 (stage 7's row is the 5th-order solution's weights).
const A: [&[f64]; 6] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// c_s for stages 1..7.
const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];
/// e_j: the difference of the 5th- and 4th-order weights.
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];
/// d_j of the dense output.
const D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Work vectors of dimension n. After [`Pair::commit`], `k[0]` holds k_7 of the
/// committed step (the next step's k_1), `k[6]` its k_1, `k[1..6]` its stages 2..6
/// and `y_old` its start.
pub(super) struct Work {
    k: [Vec<f64>; 7],
    y_stage: Vec<f64>,
    y_stiff: Vec<f64>,
    y_new: Vec<f64>,
    y_old: Vec<f64>,
    /// r1..r4 of the dense output.
    r: [Vec<f64>; 4],
}

impl Work {
    /// y_stage (stages 2..5), y_stiff (stage 6) or y_new (stage 7) = y + h sum a_{s,j} k_j.
    fn stage_input(&mut self, s: usize, y: &[f64], h: f64) {
        let row = A[s - 2];
        let k = &self.k;
        let out = match s {
            6 => &mut self.y_stiff,
            7 => &mut self.y_new,
            _ => &mut self.y_stage,
        };
        let c = |j: usize| h * row[j];
        match s {
            2 => combo::<1>(out, y, [&k[0]], [c(0)]),
            3 => combo::<2>(out, y, [&k[0], &k[1]], [c(0), c(1)]),
            4 => combo::<3>(out, y, [&k[0], &k[1], &k[2]], [c(0), c(1), c(2)]),
            5 => combo::<4>(out, y, [&k[0], &k[1], &k[2], &k[3]], std::array::from_fn(c)),
            6 => combo::<5>(
                out,
                y,
                std::array::from_fn(|j| k[j].as_slice()),
                std::array::from_fn(c),
            ),
            _ => combo::<5>(
                out,
                y,
                [&k[0], &k[2], &k[3], &k[4], &k[5]],
                [c(0), c(2), c(3), c(4), c(5)],
            ),
        }
    }
}

impl Pair for Work {
    const ATTEMPT_EVALS: u32 = 6;
    const STIFF: f64 = 3.25;
    /// No limit: DOPRI5's order-4 interpolant stays within 3 x the step end's error
    /// up to its stability edge (src/solver/dense_tests.rs).
    const DENSE_RHO: f64 = f64::INFINITY;

    fn new(n: usize) -> Self {
        let z = || vec![0.0; n];
        Work {
            k: std::array::from_fn(|_| z()),
            y_stage: z(),
            y_stiff: z(),
            y_new: z(),
            y_old: z(),
            r: std::array::from_fn(|_| z()),
        }
    }

    /// ode_solvers' DOPRI5 controller: beta 0.04, alpha 1/5 - 0.75 beta, ratios 0.2..10.
    fn controller(h_max: f64) -> Controller {
        let beta = 0.04;
        Controller::new(0.2 - beta * 0.75, beta, 0.2, 10.0, h_max)
    }

    fn initial_step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        y: &[f64],
        s: &Settings,
    ) -> f64 {
        let [a, b, ..] = &mut self.k;
        hinit(f, t, y, s, 1.0 / 5.0, [a, b, &mut self.y_stage])
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
        for s in 2..=7 {
            self.stage_input(s, y, h);
            let input = match s {
                6 => &self.y_stiff,
                7 => &self.y_new,
                _ => &self.y_stage,
            };
            f(t + h * C[s - 1], input, &mut self.k[s - 1]);
        }
        let (k, y_new) = (&self.k, &self.y_new);
        let mut err = 0.0;
        for i in 0..y.len() {
            let e = h
                * (E[0] * k[0][i]
                    + E[2] * k[2][i]
                    + E[3] * k[3][i]
                    + E[4] * k[4][i]
                    + E[5] * k[5][i]
                    + E[6] * k[6][i]);
            let sc = atol + y[i].abs().max(y_new[i].abs()) * rtol;
            err += (e / sc) * (e / sc);
        }
        (err / y.len() as f64).sqrt()
    }

    fn accepted<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, _: &mut F, _: f64, _: f64) -> u32 {
        0 // k_7 = f(t + h, y_new) is a stage
    }

    /// h |k_7 - k_6| / |y_new - y_6|.
    fn stiffness_estimate(&mut self, h: f64) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..self.y_new.len() {
            let dk = self.k[6][i] - self.k[5][i];
            let dy = self.y_new[i] - self.y_stiff[i];
            (num, den) = (num + dk * dk, den + dy * dy);
        }
        if den > 0.0 {
            h * (num / den).sqrt()
        } else {
            0.0
        }
    }

    fn commit(&mut self, y: &mut Vec<f64>) {
        self.k.swap(0, 6);
        std::mem::swap(&mut self.y_old, y);
        std::mem::swap(y, &mut self.y_new);
    }

    fn prepare_dense<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        _: &mut F,
        _: f64,
        h: f64,
        y: &[f64],
    ) -> u32 {
        // k_1 is in k[6] and k_7 in k[0] after the commit.
        let (k, y_old) = (&self.k, &self.y_old);
        let [r1, r2, r3, r4] = &mut self.r;
        for i in 0..y.len() {
            let ydiff = y[i] - y_old[i];
            let bspl = h * k[6][i] - ydiff;
            (r1[i], r2[i], r3[i]) = (ydiff, bspl, ydiff - h * k[0][i] - bspl);
            r4[i] = h
                * (D[0] * k[6][i]
                    + D[2] * k[2][i]
                    + D[3] * k[3][i]
                    + D[4] * k[4][i]
                    + D[5] * k[5][i]
                    + D[6] * k[0][i]);
        }
        0
    }

    fn interpolate(&self, theta: f64, out: &mut [f64]) {
        let th1 = 1.0 - theta;
        let [r1, r2, r3, r4] = &self.r;
        let y0 = &self.y_old;
        for i in 0..out.len() {
            out[i] = y0[i] + theta * (r1[i] + th1 * (r2[i] + theta * (r3[i] + th1 * r4[i])));
        }
    }

    fn step_start(&self) -> &[f64] {
        &self.y_old
    }
}
