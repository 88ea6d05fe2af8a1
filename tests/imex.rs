//! The IMEX additive Runge-Kutta method (`Method::Imex`, ARK4(3)6L[2]SA) on its own:
//! its fixed-step order on Kaps' problem (closed form y = (e^-2t, e^-t) for every
//! eps, stiff ones included), and the adaptive method on the coupled z-W systems
//! against references and the averaged LMSER ODE. The shared harness also runs it
//! (tests/integrators.rs, `imex_on_every_model`: the models with a fast/slow split).
//! Measured numbers are printed (`cargo test --release --test imex -- --nocapture`).

mod common;

use common::models::Kaps;
use lmser::solver::imex_fixed;

/// |y_i(1) - exact_i(1)|, i = 1, 2, of `steps` fixed steps on Kaps(eps) over [0, 1].
fn kaps_errors(eps: f64, steps: usize) -> [f64; 2] {
    let y = imex_fixed(&Kaps { eps }, 0.0, &[1.0, 1.0], 1.0, steps).expect("linear stages");
    [
        (y[0] - (-2.0f64).exp()).abs(),
        (y[1] - (-1.0f64).exp()).abs(),
    ]
}

/// Observed orders log2(e(h) / e(h/2)) of a sequence of errors at halved steps.
fn orders(errs: &[f64]) -> Vec<f64> {
    errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// Fixed steps h = 1/10 .. 1/160 on Kaps over [0, 1].
///
/// eps = 1 (non-stiff): the observed orders of max(|e1|, |e2|) must be within 0.35
/// of 4 (measured 4.32, 4.19, 4.11, 4.06); a wrong coefficient, even in its 6th
/// digit, drops them to <= 3.
///
/// eps = 1e-6 and 1e-10 (h / eps from 6e3 to 1e9): the method stays as accurate as on
/// the non-stiff problem (error < 1e-6 at h = 0.1; measured 3e-7), the slow y2 keeps
/// order 4 (asserted > 3.5 on the first two halvings, before its error reaches the
/// 1e-12 level) and the fast y1 shows the order reduction expected of an ARK method
/// on a singular perturbation problem (Kennedy & Carpenter 2003, §2.3; Hairer &
/// Wanner, Solving ODEs II, §VI.1): y1 is algebraic in the limit (y1 = y2^2 / (1 +
/// 2 eps)), set by the last implicit stage from the explicit stage value of y2, whose
/// stage order is 2, so its error is a local O(h^3) one (asserted order > 2.3 on the
/// first three halvings; measured 2.70, 2.73, 2.41 at eps = 1e-6).
#[test]
fn imex_has_its_order_on_kaps() {
    let steps = [10, 20, 40, 80, 160];
    for eps in [1.0, 1e-6, 1e-10] {
        let errs: Vec<[f64; 2]> = steps.iter().map(|&n| kaps_errors(eps, n)).collect();
        let fast: Vec<f64> = errs.iter().map(|e| e[0]).collect();
        let slow: Vec<f64> = errs.iter().map(|e| e[1]).collect();
        let both: Vec<f64> = errs.iter().map(|e| e[0].max(e[1])).collect();
        let show = |v: &[f64]| v.iter().map(|e| format!("{e:.2e}")).collect::<Vec<_>>();
        println!(
            "Kaps eps = {eps:e}: y1 errors {:?} orders {:.2?}; y2 errors {:?} orders {:.2?}",
            show(&fast),
            orders(&fast),
            show(&slow),
            orders(&slow)
        );
        if eps == 1.0 {
            let o = orders(&both);
            assert!(o.iter().all(|o| (o - 4.0).abs() < 0.35), "eps 1: {o:?}");
        } else {
            assert!(both[0] < 1e-6, "eps {eps}: error {} at h = 0.1", both[0]);
            let (of, os) = (orders(&fast), orders(&slow));
            assert!(
                os[..2].iter().all(|&o| o > 3.5),
                "eps {eps}: y2 orders {os:?}"
            );
            assert!(
                of[..3].iter().all(|&o| o > 2.3),
                "eps {eps}: y1 orders {of:?}"
            );
        }
    }
}
