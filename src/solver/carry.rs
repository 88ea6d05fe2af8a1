//! An embedded explicit Runge-Kutta pair carried across output times: the state
//! (t, y, step size, controller memory, stiffness counters) lives from the start to
//! t_end, steps are never cut to hit an output time (only the last one, to land on
//! t_end), and a value inside a step comes from the pair's own dense output
//! (Hairer, Nørsett & Wanner, Solving ODEs I, §II.6; docs/numerics.md §2.6).
//! The pairs are [`super::dop853`] (7th-order dense output) and [`super::dopri5`]
//! (4th-order).

/// Settings of one integration (as ode_solvers' `from_param`).
pub(super) struct Settings {
    pub rtol: f64,
    pub atol: f64,
    pub h_max: f64,
    /// Attempted steps allowed per call of [`Carried::advance`].
    pub n_max: u32,
    /// Test for stiffness every `n_stiff` accepted steps.
    pub n_stiff: u32,
}

/// What went wrong, as ode_solvers' `IntegrationError`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Failure {
    /// More than `n_max` steps (the count reached).
    MaxSteps(u32),
    /// The step fell below the rounding of t.
    Underflow,
    /// 15 stiffness detections without 6 non-stiff steps between them.
    Stiffness,
}

/// The outcome of one [`Carried::advance`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Outcome {
    pub accepted: u32,
    pub rejected: u32,
    pub evals: u32,
    pub failure: Option<Failure>,
    /// True when `stop` asked to end after an accepted step.
    pub stopped: bool,
}

/// The step-size controller of ode_solvers (Hairer's, with the PI term beta):
/// fac = clamp(err^alpha fac_old^-beta / safety, 1/fac_max, 1/fac_min), h_new = h / fac.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Controller {
    alpha: f64,
    beta: f64,
    facc1: f64,
    facc2: f64,
    fac_old: f64,
    h_max: f64,
    reject: bool,
    posneg: f64,
}

impl Controller {
    const SAFETY: f64 = 0.9;

    /// alpha = 1/order - 0.75 beta (DOPRI5) or 1/8 - 0.2 beta (DOP853), given here;
    /// step ratios limited to fac_min..fac_max.
    pub(super) fn new(alpha: f64, beta: f64, fac_min: f64, fac_max: f64, h_max: f64) -> Self {
        Controller {
            alpha,
            beta,
            facc1: 1.0 / fac_min,
            facc2: 1.0 / fac_max,
            fac_old: 1.0e-4,
            h_max: h_max.abs(),
            reject: false,
            posneg: 1.0,
        }
    }

    /// Accepts (true) or rejects the step h with error `err`; the next step in h_new.
    fn accept(&mut self, err: f64, h: f64, h_new: &mut f64) -> bool {
        let fac11 = err.powf(self.alpha);
        let mut fac = fac11 * self.fac_old.powf(-self.beta);
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

/// An embedded pair with dense output, over preallocated work vectors. `y` is the
/// caller's step-start state; the pair keeps what its dense output needs.
pub(super) trait Pair {
    /// Right-hand sides per attempted step (the first stage is reused: FSAL).
    const ATTEMPT_EVALS: u32;
    /// Threshold of the stiffness estimate h |lambda|.
    const STIFF: f64;
    /// Largest h |lambda| (the stiffness estimate) of a step that holds an output
    /// time inside (docs/numerics.md §2.6): beyond it the dense output amplifies the
    /// error of fast modes kept at tolerance level by the step-size control.
    const DENSE_RHO: f64;
    /// Work vectors for dimension n.
    fn new(n: usize) -> Self;
    /// The step-size controller of the pair.
    fn controller(h_max: f64) -> Controller;
    /// Hairer's initial step estimate (two right-hand sides).
    fn initial_step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        y: &[f64],
        s: &Settings,
    ) -> f64;
    /// k_1 = f(t, y).
    fn first_stage<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, f: &mut F, t: f64, y: &[f64]);
    /// The stages of a step h from (t, y): the new solution (kept) and the error norm.
    fn attempt<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        y: &[f64],
        h: f64,
        rtol: f64,
        atol: f64,
    ) -> f64;
    /// After acceptance: f at the new point if the stages lack it; returns the
    /// right-hand sides used.
    fn accepted<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, f: &mut F, t: f64, h: f64) -> u32;
    /// The stiffness estimate h |lambda| of the accepted step.
    fn stiffness_estimate(&mut self, h: f64) -> f64;
    /// Moves the new solution into `y` (the old one is kept for the dense output).
    fn commit(&mut self, y: &mut Vec<f64>);
    /// The dense-output coefficients of the last committed step (t, t + h) ending at
    /// `y`; returns the right-hand sides used.
    fn prepare_dense<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        h: f64,
        y: &[f64],
    ) -> u32;
    /// The dense output at t + theta h of the prepared step.
    fn interpolate(&self, theta: f64, out: &mut [f64]);
    /// The state at the start of the last committed step.
    fn step_start(&self) -> &[f64];
}

/// The part of a [`Carried`] integration saved in a resume point: the last accepted
/// step (its start, size and end time) and the controller state after it. Redoing
/// that step from its start gives the same bits, so the state, the dense output and
/// the following steps are those of the uninterrupted run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CarryPoint {
    /// Start time of the last accepted step.
    pub t_old: f64,
    /// State at `t_old` (with the clock component, when there is one).
    pub y_old: Vec<f64>,
    /// Size of the last accepted step.
    pub h_last: f64,
    /// End time of the last accepted step.
    pub t_step: f64,
    /// The next step size.
    pub h: f64,
    /// Controller memory.
    pub controller: Controller,
    /// The estimate of |lambda| that limits steps holding an output.
    pub lambda: f64,
    /// Accepted steps so far.
    pub accepted: u32,
}

/// An integration in progress over a [`Pair`].
pub(super) struct Carried<P: Pair> {
    pair: P,
    t: f64,
    y: Vec<f64>,
    h: f64,
    t_old: f64,
    h_last: f64,
    ctl: Controller,
    /// |lambda| estimated over the last accepted steps (0 before; `Pair::DENSE_RHO`).
    lambda: f64,
    iasti: u32,
    non_stiff: u32,
    accepted: u32,
    /// Whether the first stage at (t, y) is evaluated.
    started: bool,
    /// Whether the dense output of the last step is prepared.
    dense: bool,
}

impl<P: Pair> Carried<P> {
    /// Starts at (t, y) with step h (0 = estimate it); steps never exceed h_max.
    pub(super) fn new(t: f64, y: Vec<f64>, h: f64, h_max: f64) -> Self {
        Carried {
            pair: P::new(y.len()),
            t,
            y,
            h,
            t_old: t,
            h_last: 0.0,
            ctl: P::controller(h_max),
            lambda: 0.0,
            iasti: 0,
            non_stiff: 0,
            accepted: 0,
            started: false,
            dense: false,
        }
    }

    /// Continues after the step saved in `p`, redoing it from its start (the same
    /// bits, right-hand sides not counted).
    pub(super) fn resume<F: FnMut(f64, &[f64], &mut [f64])>(
        f: &mut F,
        p: &CarryPoint,
        s: &Settings,
    ) -> Self {
        let mut c: Self = Carried::new(p.t_old, p.y_old.clone(), p.h, s.h_max);
        c.pair.first_stage(f, p.t_old, &c.y);
        c.pair.attempt(f, p.t_old, &c.y, p.h_last, s.rtol, s.atol);
        c.pair.accepted(f, p.t_old, p.h_last);
        c.pair.commit(&mut c.y);
        (c.t, c.h_last, c.ctl, c.started) = (p.t_step, p.h_last, p.controller, true);
        c.lambda = p.lambda;
        c.accepted = p.accepted;
        c
    }

    /// What [`Carried::resume`] needs; None before the first step.
    pub(super) fn point(&self) -> Option<CarryPoint> {
        (self.accepted > 0 && self.started).then(|| CarryPoint {
            t_old: self.t_old,
            y_old: self.pair.step_start().to_vec(),
            h_last: self.h_last,
            t_step: self.t,
            h: self.h,
            controller: self.ctl,
            lambda: self.lambda,
            accepted: self.accepted,
        })
    }

    /// End time of the last accepted step.
    pub(super) fn t(&self) -> f64 {
        self.t
    }

    /// State at [`Carried::t`].
    pub(super) fn y(&self) -> &[f64] {
        &self.y
    }

    /// The next step size.
    pub(super) fn h(&self) -> f64 {
        self.h
    }

    /// Steps until the last step ends at or past `t_next` (the step that crosses it is
    /// taken whole; only a step past `t_end` is cut to end there). `stop` sees the state
    /// after every accepted step and ends the call when it returns true.
    pub(super) fn advance<F, G>(
        &mut self,
        f: &mut F,
        stop: &mut G,
        t_next: f64,
        t_end: f64,
        s: &Settings,
    ) -> Outcome
    where
        F: FnMut(f64, &[f64], &mut [f64]),
        G: FnMut(&[f64]) -> bool,
    {
        let mut out = Outcome::default();
        if !self.started {
            if self.h == 0.0 {
                self.h = self.pair.initial_step(f, self.t, &self.y, s);
                out.evals += 2;
            }
            self.pair.first_stage(f, self.t, &self.y);
            out.evals += 1;
            self.started = true;
        }
        let (mut n_step, mut h_new, mut shortened) = (0u32, 0.0, false);
        // The stiffness test restarts with every output interval, as when ode_solvers
        // was restarted there (docs/numerics.md §2.6).
        (self.iasti, self.non_stiff) = (0, 0);
        while self.t < t_next {
            if n_step >= s.n_max {
                out.failure = Some(Failure::MaxSteps(n_step));
                return out;
            }
            if 0.1 * self.h.abs() <= f64::EPSILON * self.t.abs() {
                out.failure = Some(Failure::Underflow);
                return out;
            }
            let mut last = false;
            if self.t + 1.01 * self.h - t_end > 0.0 {
                self.h = t_end - self.t;
                last = true;
            }
            let holds_output = if last {
                t_next < t_end
            } else {
                self.t + self.h > t_next
            };
            if holds_output && self.lambda * self.h > P::DENSE_RHO {
                (self.h, last) = (P::DENSE_RHO / self.lambda, false);
            }
            n_step += 1;
            let h = self.h;
            let err = self.pair.attempt(f, self.t, &self.y, h, s.rtol, s.atol);
            out.evals += P::ATTEMPT_EVALS;
            if !self.ctl.accept(err, h, &mut h_new) {
                if self.accepted >= 1 {
                    out.rejected += 1;
                }
                self.h = h_new;
                continue;
            }
            out.evals += self.pair.accepted(f, self.t, h);
            let test = (out.accepted + 1).is_multiple_of(s.n_stiff) || self.iasti > 0;
            if test || P::DENSE_RHO.is_finite() {
                let rho = self.pair.stiffness_estimate(h);
                // The estimate sees the fast modes only when they dominate the step's
                // last difference: keep a slowly decaying maximum.
                self.lambda = (rho / h).max(0.98 * self.lambda);
                if holds_output && rho > P::DENSE_RHO && !shortened {
                    // Too long to interpolate in: once more, shorter.
                    (out.rejected, self.h) = (out.rejected + 1, P::DENSE_RHO / self.lambda);
                    shortened = true;
                    continue;
                }
                if test && self.stiff(rho) {
                    out.failure = Some(Failure::Stiffness);
                    return out;
                }
            }
            (self.accepted, out.accepted) = (self.accepted + 1, out.accepted + 1);
            shortened = false;
            self.pair.commit(&mut self.y);
            (self.t_old, self.h_last, self.dense) = (self.t, h, false);
            self.t = if last { t_end } else { self.t + h };
            self.h = h_new;
            if stop(&self.y) {
                out.stopped = true;
                return out;
            }
        }
        out
    }

    /// Hairer's stiffness test with the estimate rho = h |lambda| of an accepted step
    /// (made every `n_stiff` steps of an output interval, then at every step while
    /// suspicious): true after 15 detections without 6 non-stiff steps in between.
    fn stiff(&mut self, rho: f64) -> bool {
        if rho > P::STIFF {
            self.non_stiff = 0;
            self.iasti += 1;
            return self.iasti == 15;
        }
        self.non_stiff += 1;
        if self.non_stiff == 6 {
            self.iasti = 0;
        }
        false
    }

    /// The state at t, t_old <= t <= [`Carried::t`], into `out`: the step end itself,
    /// or the dense output of the last step (prepared once per step). Returns the
    /// right-hand sides used.
    pub(super) fn output<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        f: &mut F,
        t: f64,
        out: &mut [f64],
    ) -> u32 {
        let (t_old, t_step, h) = (self.t_old, self.t, self.h_last);
        let Carried { pair, y, dense, .. } = self;
        let mut evals = 0;
        dense_at(t, t_old, t_step, h, 0.0, y, out, |theta, out| {
            if !*dense {
                evals = pair.prepare_dense(f, t_old, h, y);
                *dense = true;
            }
            pair.interpolate(theta, out);
        });
        evals
    }
}

/// The one output rule of every carried method: the state at an output time t of
/// the last step [t_old, t_step] (size h, ending at `end`) into `out`. The step end
/// itself when |t - t_step| <= snap |h| or before any step (h = 0), else
/// `interpolate(theta, out)`, theta = (t - t_old) / h, the method's dense output.
#[allow(clippy::too_many_arguments)]
pub(super) fn dense_at(
    t: f64,
    t_old: f64,
    t_step: f64,
    h: f64,
    snap: f64,
    end: &[f64],
    out: &mut [f64],
    interpolate: impl FnOnce(f64, &mut [f64]),
) {
    if (t - t_step).abs() <= snap * h.abs() || h == 0.0 {
        out.copy_from_slice(end);
    } else {
        interpolate((t - t_old) / h, out);
    }
}

/// The cubic Hermite interpolant of a step h from (y0, f0) to (y1, f1) at theta
/// (Hairer, Nørsett & Wanner, Solving ODEs I, §II.6); order 3, local error O(h^4):
/// y = (1 - theta) y0 + theta y1 + theta (theta - 1) d with
/// d = (1 - 2 theta)(y1 - y0) + (theta - 1) h f0 + theta h f1; `f0(i)`, `f1(i)` give
/// component i of the derivatives.
pub(super) fn hermite(
    theta: f64,
    h: f64,
    y0: &[f64],
    y1: &[f64],
    f0: impl Fn(usize) -> f64,
    f1: impl Fn(usize) -> f64,
    out: &mut [f64],
) {
    let (a, b) = (theta * (theta - 1.0), 1.0 - 2.0 * theta);
    for (i, o) in out.iter_mut().enumerate() {
        let d = y1[i] - y0[i];
        *o = y0[i] + theta * d + a * (b * d + (theta - 1.0) * h * f0(i) + theta * h * f1(i));
    }
}

/// Hairer's initial step estimate HINIT as ode_solvers writes it (forward in t):
/// h0 = 0.01 ||y|| / ||f|| (scaled norms), one explicit Euler step to estimate
/// ||f'||, then h1 = (0.01 / max(||f||, ||f'||))^exponent (exponent 1/order) and
/// h = min(100 h0, h1, h_max). `buf` are three work vectors of the state's length.
#[allow(clippy::needless_range_loop)]
pub(super) fn hinit<F: FnMut(f64, &[f64], &mut [f64])>(
    f: &mut F,
    t: f64,
    y: &[f64],
    s: &Settings,
    exponent: f64,
    buf: [&mut [f64]; 3],
) -> f64 {
    let [f0, f1, y1] = buf;
    let n = y.len();
    f(t, y, f0);
    let (mut d0, mut d1) = (0.0, 0.0);
    for i in 0..n {
        let sci = s.atol + y[i].abs() * s.rtol;
        d0 += (y[i] / sci) * (y[i] / sci);
        d1 += (f0[i] / sci) * (f0[i] / sci);
    }
    let mut h0 = if d0 < 1.0e-10 || d1 < 1.0e-10 {
        1.0e-6
    } else {
        0.01 * (d0 / d1).sqrt()
    };
    h0 = h0.min(s.h_max.abs()).abs();
    for i in 0..n {
        y1[i] = y[i] + f0[i] * h0;
    }
    f(t + h0, y1, f1);
    let mut d2 = 0.0;
    for i in 0..n {
        let sci = s.atol + y[i].abs() * s.rtol;
        d2 += ((f1[i] - f0[i]) / sci) * ((f1[i] - f0[i]) / sci);
    }
    d2 = d2.sqrt() / h0;
    let h1 = if d1.sqrt().max(d2.abs()) <= 1.0e-15 {
        1.0e-6f64.max(h0.abs() * 1.0e-3)
    } else {
        (0.01 / d1.sqrt().max(d2)).powf(exponent)
    };
    (100.0 * h0.abs()).min(h1.min(s.h_max.abs())).abs()
}
