//! ARK4(3)6L[2]SA of Kennedy & Carpenter (2003), "Additive Runge-Kutta schemes for
//! convection-diffusion-reaction equations", Appl. Numer. Math. 44, 139-181, Tables
//! (ERK and ESDIRK parts) as in SUNDIALS ARKODE (ARKODE_ARK436L2SA_ERK_6_3_4 and
//! ARKODE_ARK436L2SA_DIRK_6_3_4). Six stages, order 4 with an embedded order 3,
//! explicit first stage, gamma = 1/4, both parts sharing c, b and the embedded
//! weights d. The implicit part is L-stable and stiffly accurate (its last row is b)
//! with stage order 2. The ERK coefficients are rational approximations (~1e-13) of
//! the paper's irrational values, as in ARKODE.

/// Number of stages.
pub(super) const S: usize = 6;

/// gamma, the diagonal of the implicit part (stages 2..6).
pub(super) const GAMMA: f64 = 0.25;

/// c_i: stage i at t + c_i h.
pub(super) const C: [f64; S] = [0.0, 0.5, 83.0 / 250.0, 31.0 / 50.0, 17.0 / 20.0, 1.0];

/// b_i: the order-4 solution y + h sum_i b_i (f_E,i + f_I,i).
pub(super) const B: [f64; S] = [
    82889.0 / 524892.0,
    0.0,
    15625.0 / 83664.0,
    69875.0 / 102672.0,
    -2260.0 / 8211.0,
    0.25,
];

/// d_i: the embedded order-3 solution.
pub(super) const D: [f64; S] = [
    4586570599.0 / 29645900160.0,
    0.0,
    178811875.0 / 945068544.0,
    814220225.0 / 1159782912.0,
    -3700637.0 / 11593932.0,
    61727.0 / 225920.0,
];

/// Explicit part a^E_ij (j < i), row i = stage i (0-based).
pub(super) const AE: [[f64; S]; S] = [
    [0.0; S],
    [0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
    [13861.0 / 62500.0, 6889.0 / 62500.0, 0.0, 0.0, 0.0, 0.0],
    [
        -116923316275.0 / 2393684061468.0,
        -2731218467317.0 / 15368042101831.0,
        9408046702089.0 / 11113171139209.0,
        0.0,
        0.0,
        0.0,
    ],
    [
        -451086348788.0 / 2902428689909.0,
        -2682348792572.0 / 7519795681897.0,
        12662868775082.0 / 11960479115383.0,
        3355817975965.0 / 11060851509271.0,
        0.0,
        0.0,
    ],
    [
        647845179188.0 / 3216320057751.0,
        73281519250.0 / 8382639484533.0,
        552539513391.0 / 3454668386233.0,
        3354512671639.0 / 8306763924573.0,
        4040.0 / 17871.0,
        0.0,
    ],
];

/// Implicit part below the diagonal a^I_ij (j < i); the diagonal is [`GAMMA`] for
/// stages 2..6 and 0 for stage 1.
pub(super) const AI: [[f64; S]; S] = [
    [0.0; S],
    [0.25, 0.0, 0.0, 0.0, 0.0, 0.0],
    [8611.0 / 62500.0, -1743.0 / 31250.0, 0.0, 0.0, 0.0, 0.0],
    [
        5012029.0 / 34652500.0,
        -654441.0 / 2922500.0,
        174375.0 / 388108.0,
        0.0,
        0.0,
        0.0,
    ],
    [
        15267082809.0 / 155376265600.0,
        -71443401.0 / 120774400.0,
        730878875.0 / 902184768.0,
        2285395.0 / 8070912.0,
        0.0,
        0.0,
    ],
    [
        82889.0 / 524892.0,
        0.0,
        15625.0 / 83664.0,
        69875.0 / 102672.0,
        -2260.0 / 8211.0,
        0.0,
    ],
];

/// The error estimate h sum_i (b_i - d_i) f_i is O(h^4).
pub(super) const ERR_ORDER: f64 = 4.0;

#[cfg(test)]
mod tests {
    use super::*;

    /// The full implicit matrix (diagonal included).
    fn ai_full() -> [[f64; S]; S] {
        let mut a = AI;
        for (i, row) in a.iter_mut().enumerate().skip(1) {
            row[i] = GAMMA;
        }
        a
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn mat_vec(a: &[[f64; S]; S], v: &[f64]) -> Vec<f64> {
        a.iter().map(|row| dot(row, v)).collect()
    }

    /// Row sums equal c for both parts; the implicit last row is b (stiffly accurate).
    /// The ERK rows are ~1e-13 approximations, hence the tolerance 1e-11.
    #[test]
    fn rows_sum_to_c_and_the_implicit_part_is_stiffly_accurate() {
        let ai = ai_full();
        for i in 0..S {
            assert!(
                (AE[i].iter().sum::<f64>() - C[i]).abs() < 1e-11,
                "ERK row {i}"
            );
            assert!(
                (ai[i].iter().sum::<f64>() - C[i]).abs() < 1e-11,
                "ESDIRK row {i}"
            );
        }
        assert!(ai[S - 1].iter().zip(&B).all(|(a, b)| (a - b).abs() < 1e-15));
    }

    /// The order conditions up to order 4 (b) and 3 (d), for every combination of the
    /// two parts in the coupling conditions (Kennedy & Carpenter 2003, §2.2): a
    /// mistyped coefficient breaks at least one of them by far more than 1e-10.
    #[test]
    fn order_conditions_hold() {
        let ai = ai_full();
        let c2: Vec<f64> = C.iter().map(|c| c * c).collect();
        let c3: Vec<f64> = C.iter().map(|c| c * c * c).collect();
        let close = |v: f64, want: f64, what: &str| {
            assert!((v - want).abs() < 1e-10, "{what}: {v} != {want}");
        };
        for (w, name, order) in [(&B, "b", 4), (&D, "d", 3)] {
            close(w.iter().sum(), 1.0, name);
            close(dot(w, &C), 0.5, name);
            close(dot(w, &c2), 1.0 / 3.0, name);
            for a in [&AE, &ai] {
                close(dot(w, &mat_vec(a, &C)), 1.0 / 6.0, name);
            }
            if order < 4 {
                continue;
            }
            close(dot(w, &c3), 0.25, name);
            for a in [&AE, &ai] {
                let ac = mat_vec(a, &C);
                let wc: Vec<f64> = w.iter().zip(&C).map(|(x, c)| x * c).collect();
                close(dot(&wc, &ac), 1.0 / 8.0, name);
                close(dot(w, &mat_vec(a, &c2)), 1.0 / 12.0, name);
                for a2 in [&AE, &ai] {
                    close(dot(w, &mat_vec(a, &mat_vec(a2, &C))), 1.0 / 24.0, name);
                }
            }
        }
    }
}
