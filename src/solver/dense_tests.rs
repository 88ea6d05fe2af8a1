//! The dense outputs' order, one step from an exact state (unit tests: the step size
//! is fixed through h_max, which the public options do not expose).

use super::carry::{Carried, Pair, Settings};
use super::{dop853, dopri5};

/// Settings under which every step is accepted with size h: huge tolerances (error
/// norm ~0) and h_max = h.
fn fixed(h: f64) -> Settings {
    Settings {
        rtol: 1e6,
        atol: 1e6,
        h_max: h,
        n_max: 1_000_000,
        n_stiff: 1000,
    }
}

/// Kaps' problem with eps = 1: y = (e^{-2t}, e^{-t}).
fn kaps(_t: f64, y: &[f64], dy: &mut [f64]) {
    dy[0] = -3.0 * y[0] + y[1] * y[1];
    dy[1] = y[0] - y[1] - y[1] * y[1];
}

/// Largest |dense output - exact| over theta = 0.1, 0.2, ..., 0.9 of one step h from
/// t = 0.3 on the exact solution.
fn one_step_error<P: Pair>(h: f64) -> f64 {
    let exact = |t: f64| [(-2.0 * t).exp(), (-t).exp()];
    let t0 = 0.3;
    let mut c: Carried<P> = Carried::new(t0, exact(t0).to_vec(), h, h);
    let mut f = kaps;
    let s = fixed(h);
    let o = c.advance(&mut f, &mut |_: &[f64]| false, t0 + h, 100.0, &s);
    assert_eq!((o.accepted, o.rejected), (1, 0), "one step of size h");
    let mut out = [0.0; 2];
    let mut worst = 0.0f64;
    for i in 1..10 {
        let t = t0 + h * f64::from(i) / 10.0;
        c.output(&mut f, t, &mut out);
        let e = exact(t);
        worst = worst.max((out[0] - e[0]).abs()).max((out[1] - e[1]).abs());
    }
    worst
}

/// log2 of the error ratios when h halves, over `hs`.
fn slopes<P: Pair>(hs: [f64; 3]) -> Vec<f64> {
    let e: Vec<f64> = hs.iter().map(|&h| one_step_error::<P>(h)).collect();
    println!("errors {e:?}");
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// A dense output of order q has local error O(h^(q+1)): halving h divides the error
/// by 2^(q+1). DOP853's is of order 7 (2^8); measured slopes 8.02 and 8.03 at
/// h = 0.4, 0.2, 0.1 (errors 1.7e-6 .. 2.5e-11, far above rounding). The window
/// 7.5..8.7 fails an interpolant of order 6 (slope 7) or one that is only the
/// 5th-order Hermite part (r0..r3 with wrong r4..r7, slope <= 6).
#[test]
fn dop853_dense_output_has_order_7() {
    let s = slopes::<dop853::Work>([0.4, 0.2, 0.1]);
    println!("DOP853 slopes {s:?}");
    assert!(s.iter().all(|&v| (7.5..8.7).contains(&v)), "slopes {s:?}");
}

/// DOPRI5's dense output is of order 4: local error O(h^5), slope 5 (measured 5.40,
/// 5.24 at h = 0.2, 0.1, 0.05, approaching 5 from above). The window 4.6..5.8 fails
/// order 3 (slope 4) and order 5 (slope 6).
#[test]
fn dopri5_dense_output_has_order_4() {
    let s = slopes::<dopri5::Work>([0.2, 0.1, 0.05]);
    println!("DOPRI5 slopes {s:?}");
    assert!(s.iter().all(|&v| (4.6..5.8).contains(&v)), "slopes {s:?}");
}

/// At the end of a step the output is the step's own value, bit for bit, not the
/// interpolant at theta = 1.
#[test]
fn output_at_a_step_end_is_the_step_itself() {
    fn check<P: Pair>() {
        let h = 0.25;
        let mut c: Carried<P> = Carried::new(0.0, vec![1.0, 1.0], h, h);
        let s = fixed(h);
        let mut f = kaps;
        c.advance(&mut f, &mut |_: &[f64]| false, 0.1, 100.0, &s);
        let mut out = [0.0; 2];
        c.output(&mut f, 0.1, &mut out);
        let end = c.y().to_vec();
        assert_eq!(c.output(&mut f, c.t(), &mut out), 0, "no right-hand side");
        assert_eq!(out.to_vec(), end);
    }
    check::<dop853::Work>();
    check::<dopri5::Work>();
}

/// (error of the step end, largest error inside the step) of one step h = 1 on
/// y' = -z y, y(0) = 1: a fast mode at h |lambda| = z.
fn fast_mode<P: Pair>(z: f64) -> (f64, f64) {
    let mut c: Carried<P> = Carried::new(0.0, vec![1.0], 1.0, 1.0);
    let mut f = move |_t: f64, y: &[f64], dy: &mut [f64]| dy[0] = -z * y[0];
    c.advance(&mut f, &mut |_: &[f64]| false, 1.0, 100.0, &fixed(1.0));
    let end = (c.y()[0] - (-z).exp()).abs();
    let mut out = [0.0];
    let mut inside = 0.0f64;
    for i in 1..20 {
        let theta = f64::from(i) / 20.0;
        c.output(&mut f, theta, &mut out);
        inside = inside.max((out[0] - (-z * theta).exp()).abs());
    }
    (end, inside)
}

/// Why DOP853 keeps h |lambda| <= 4 (`Pair::DENSE_RHO`) in steps holding an output:
/// on a fast mode its order-7 interpolant is far worse inside the step than at the
/// end (measured inside / y0: 8.7e-7 at z = 1, 1.5e-4 at 2, 3.0e-3 at 3, 5.1e-2 at
/// 4, 0.87 at 5; the end 3e-8 .. 6e-2), and the step-size control, which sees only
/// the end, keeps a decayed fast mode at tolerance level with steps at the edge of
/// stability (z ~ 6), where the inside error exceeds the mode's own size. The limit
/// z <= 4 keeps it below 0.06 of the mode.
#[test]
fn dop853_interpolant_on_a_fast_mode() {
    for z in [1.0, 2.0, 3.0, 4.0] {
        let (end, inside) = fast_mode::<dop853::Work>(z);
        println!("DOP853 z = {z}: end {end:.2e}, inside {inside:.2e}");
        assert!(inside <= 0.06, "z = {z}: {inside:e}");
    }
    let (_, inside) = fast_mode::<dop853::Work>(6.0);
    assert!(inside > 1.0, "z = 6: {inside:e}");
}

/// DOPRI5's order-4 interpolant stays within 3 x its step end's error on a fast mode
/// up to its stability edge (measured ratios 2.8 at z = 0.5, 1.7 at 1, <= 1.15 at
/// 2..3), so it needs no limit (`Pair::DENSE_RHO` infinite).
#[test]
fn dopri5_interpolant_on_a_fast_mode() {
    for z in [0.5, 1.0, 2.0, 3.0] {
        let (end, inside) = fast_mode::<dopri5::Work>(z);
        println!("DOPRI5 z = {z}: end {end:.2e}, inside {inside:.2e}");
        assert!(inside <= 3.0 * end, "z = {z}: {inside:e} vs {end:e}");
    }
}
