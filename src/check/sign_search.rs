//! Theorem 4's sign claim, <E G_0, E G> > 0, searched for counterexamples
//! (docs/theory.md §4.3): minimise the cosine
//!
//!   r(W, Sigma) = <E G_0, E G> / (||E G_0|| ||E G||)
//!
//! over W and Sigma with a multistart optimiser.
//!
//! Reduction: with W = U S V^T (SVD), E G_0 = W Sigma Q and E G = W Sigma Q + W Q Sigma,
//! Q = Id - W^T W, so r(W, Sigma) = r(S, V^T Sigma V): r depends only on the singular
//! values of W and on Sigma in W's right singular basis. The search therefore takes
//! W = [diag(s) | 0] and Sigma = R diag(lambda) R^T with R a product of Givens rotations
//! (every rotation is one) and log lambda in [0, ln spread_max].

use super::search::{Budget, Found, Local, box_starts, minimise};
use super::{CheckRow, Verdict, row};
use crate::analysis::theorem4_terms;
use nalgebra::{DMatrix, DVector};
use std::cell::RefCell;

/// Where the search looks.
#[derive(Debug, Clone, Copy)]
pub struct SearchBox {
    /// Largest eigenvalue ratio lambda_max / lambda_min of Sigma.
    pub spread_max: f64,
    /// The range of singular values of W.
    pub weights: WeightBox,
}

/// The range of W searched.
#[derive(Debug, Clone, Copy)]
pub enum WeightBox {
    /// ||W||_F in [min, max] (any direction of the singular values).
    Frobenius {
        /// Smallest ||W||_F searched (> 0; the norm is searched on a log scale).
        min: f64,
        /// Largest ||W||_F searched.
        max: f64,
    },
    /// Every singular value in [0, max]: ||W||_2 <= max.
    Spectral {
        /// Bound on every singular value of W (sqrt 2 is the region ||W W^T - I||_2 <= 1).
        max: f64,
    },
}

/// Number of search parameters for an n1 x n0 W: singular values (n1), the norm (1),
/// log-eigenvalues (n0) and Givens angles (n0 (n0 - 1) / 2).
pub fn dimension(n0: usize, n1: usize) -> usize {
    n1 + 1 + n0 + n0 * (n0 - 1) / 2
}

/// In [0, 1], smooth in x.
fn unit(x: f64) -> f64 {
    0.5 * (1.0 + x.tanh())
}

/// The (W, Sigma) of parameter vector `x` (see [`dimension`]).
pub fn decode(n0: usize, n1: usize, x: &[f64], b: &SearchBox) -> (DMatrix<f64>, DMatrix<f64>) {
    let s: Vec<f64> = match b.weights {
        WeightBox::Frobenius { min, max } => {
            let rho = min * (max / min).powf(unit(x[n1]));
            let u = DVector::from_column_slice(&x[..n1]);
            let norm = u.norm();
            if norm > 0.0 && norm.is_finite() {
                u.iter().map(|v| rho * v.abs() / norm).collect()
            } else {
                vec![rho / (n1 as f64).sqrt(); n1]
            }
        }
        WeightBox::Spectral { max } => x[..n1].iter().map(|v| max * unit(*v)).collect(),
    };
    let mut w = DMatrix::zeros(n1, n0);
    for (i, v) in s.iter().enumerate() {
        w[(i, i)] = *v;
    }
    let lam: Vec<f64> = x[n1 + 1..n1 + 1 + n0]
        .iter()
        .map(|v| (b.spread_max.ln() * unit(*v)).exp())
        .collect();
    let mut r = DMatrix::<f64>::identity(n0, n0);
    let mut k = n1 + 1 + n0;
    for i in 0..n0 {
        for j in i + 1..n0 {
            let (sn, cs) = x[k].sin_cos();
            for row in 0..n0 {
                let (a, c) = (r[(row, i)], r[(row, j)]);
                r[(row, i)] = cs * a - sn * c;
                r[(row, j)] = sn * a + cs * c;
            }
            k += 1;
        }
    }
    let sigma = &r * DMatrix::from_diagonal(&DVector::from_vec(lam)) * r.transpose();
    (w, 0.5 * (&sigma + sigma.transpose()))
}

/// r(W, Sigma): the cosine between Oja's and LMSER's averaged directions (NaN when one
/// of them vanishes).
pub fn cosine(w: &DMatrix<f64>, sigma: &DMatrix<f64>) -> f64 {
    let t = theorem4_terms(w, sigma);
    t.inner / (t.oja_norm * t.lmser_norm)
}

/// Closed form in W's singular basis (docs/theory.md §4.3): with m_k = s_k^2 (0 beyond
/// the rank), a_k = 1 - m_k and S = V^T Sigma V,
/// <E G_0, E G> = 1/2 sum_{k,l} S_kl^2 (a_k + a_l)(m_k a_l + m_l a_k).
pub fn inner_closed_form(s: &[f64], sigma_v: &DMatrix<f64>) -> f64 {
    let n0 = sigma_v.nrows();
    let m: Vec<f64> = (0..n0).map(|k| s.get(k).map_or(0.0, |v| v * v)).collect();
    let a: Vec<f64> = m.iter().map(|v| 1.0 - v).collect();
    let mut total = 0.0;
    for k in 0..n0 {
        for l in 0..n0 {
            total += sigma_v[(k, l)].powi(2) * (a[k] + a[l]) * (m[k] * a[l] + m[l] * a[k]);
        }
    }
    0.5 * total
}

/// Distances of W from orthonormal rows: (||W W^T - I||_F, ||W W^T - I||_2).
pub fn orthonormality_gap(w: &DMatrix<f64>) -> (f64, f64) {
    let d = w * w.transpose() - DMatrix::identity(w.nrows(), w.nrows());
    let two = d
        .clone()
        .symmetric_eigenvalues()
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    (d.norm(), two)
}

/// Result of the search over one box and every size.
#[derive(Debug, Clone)]
pub struct SignSearch {
    /// Smallest r found, with its W and Sigma and size.
    pub min_r: f64,
    /// The W = [diag(s) | 0] (n1 x n0) at `min_r`; 0 x 0 if no finite r was met.
    pub w: DMatrix<f64>,
    /// The Sigma (n0 x n0, in W's right singular basis) at `min_r`; 0 x 0 if none.
    pub sigma: DMatrix<f64>,
    /// (n0, n1, smallest r) per size.
    pub per_size: Vec<(usize, usize, f64)>,
    /// Smallest ||W W^T - I||_F and ||W W^T - I||_2 over every evaluated point with
    /// r < 0 (infinite when none).
    pub min_gap_negative: (f64, f64),
    /// Objective evaluations over every size (gradient evaluations included).
    pub evals: u64,
    /// Local runs over every size.
    pub starts: usize,
}

/// Minimises r over every n0 in `sizes` and n1 < n0, from `starts` box starts each.
pub fn search_sign(
    sizes: std::ops::RangeInclusive<usize>,
    b: &SearchBox,
    starts: usize,
    budget: Budget,
    seed: u64,
) -> SignSearch {
    let mut out = SignSearch {
        min_r: f64::INFINITY,
        w: DMatrix::zeros(0, 0),
        sigma: DMatrix::zeros(0, 0),
        per_size: Vec::new(),
        min_gap_negative: (f64::INFINITY, f64::INFINITY),
        evals: 0,
        starts: 0,
    };
    for n0 in sizes {
        for n1 in 1..n0 {
            let gaps = RefCell::new(out.min_gap_negative);
            let f = |x: &[f64]| {
                let (w, sigma) = decode(n0, n1, x, b);
                let r = cosine(&w, &sigma);
                if r < 0.0 {
                    let (df, d2) = orthonormality_gap(&w);
                    let mut g = gaps.borrow_mut();
                    *g = (g.0.min(df), g.1.min(d2));
                }
                r
            };
            let mut rng = crate::data::rng(seed + 100 * n0 as u64 + n1 as u64, 1);
            let x0 = box_starts(starts, dimension(n0, n1), &mut rng);
            let found: Found = minimise(&f, &x0, budget);
            out.min_gap_negative = gaps.into_inner();
            out.evals += found.evals;
            out.starts += found.starts;
            out.per_size.push((n0, n1, found.value));
            if found.value < out.min_r {
                out.min_r = found.value;
                (out.w, out.sigma) = decode(n0, n1, &found.x, b);
            }
        }
    }
    out
}

/// The local optimiser of the sign search: Nelder-Mead, 2400 iterations per start. At
/// equal results (the same smallest r to 4 digits in every box of `lmser check`) it
/// needed 0.36 times the evaluations of L-BFGS with finite-difference gradients
/// (60 iterations), so it is the default.
pub const SIGN_BUDGET: Budget = Budget {
    local: Local::NelderMead,
    iters: 2400,
    step: 0.5,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{normal, random_orthogonal, rng};

    #[test]
    fn closed_form_matches_the_flows_and_r_is_rotation_invariant() {
        let mut g = rng(1, 1);
        for (n0, n1) in [(2, 1), (5, 2), (7, 4)] {
            let w = DMatrix::from_fn(n1, n0, |_, _| normal(&mut g));
            let b = DMatrix::from_fn(n0, n0, |_, _| normal(&mut g));
            let sigma = &b * b.transpose();
            let svd = w.clone().svd(true, true);
            let v = svd.v_t.clone().unwrap().transpose();
            // V is n0 x n1: complete it to an orthonormal basis of R^n0.
            let mut cols: Vec<_> = v.column_iter().map(|c| c.into_owned()).collect();
            let q = random_orthogonal(n0, &mut g);
            for c in q.column_iter() {
                let mut c = c.into_owned();
                for u in &cols {
                    c -= u * u.dot(&c);
                }
                if cols.len() < n0 && c.norm() > 1e-6 {
                    cols.push(&c / c.norm());
                }
            }
            let full = DMatrix::from_columns(&cols);
            let s: Vec<f64> = svd.singular_values.iter().copied().collect();
            let closed = inner_closed_form(&s, &(full.transpose() * &sigma * &full));
            let t = theorem4_terms(&w, &sigma);
            // Both sides are sums of O(n0^2) products of size |t.inner|-ish terms:
            // agreement to 1e-9 relative is rounding, a wrong formula is off by O(1).
            assert!(
                (closed - t.inner).abs() < 1e-9 * (1.0 + t.inner.abs()),
                "{closed} {}",
                t.inner
            );
            let u = random_orthogonal(n1, &mut g);
            let p = random_orthogonal(n0, &mut g);
            let r1 = cosine(&w, &sigma);
            let r2 = cosine(&(&u * &w * &p), &(p.transpose() * &sigma * &p));
            assert!((r1 - r2).abs() < 1e-12, "{r1} {r2}");
        }
    }

    #[test]
    fn orthonormal_rows_give_r_one_and_the_planted_counterexample_is_negative() {
        let mut g = rng(2, 1);
        let q = random_orthogonal(5, &mut g);
        let b = DMatrix::from_fn(5, 5, |_, _| normal(&mut g));
        let r = cosine(&q.rows(0, 2).into_owned(), &(&b * b.transpose()));
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        // W = [sqrt 3, 0], Sigma = [[1, 3], [3, 10]]: <G_0, G> = 3 (1 (-2)(-4)... ) = -3.
        let w = DMatrix::from_row_slice(1, 2, &[3f64.sqrt(), 0.0]);
        let sigma = DMatrix::from_row_slice(2, 2, &[1.0, 3.0, 3.0, 10.0]);
        let t = theorem4_terms(&w, &sigma);
        assert!((t.inner + 3.0).abs() < 1e-12, "{}", t.inner);
        assert!((cosine(&w, &sigma) + 1.0 / (5.0 * 13f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn the_search_finds_a_negative_r_and_is_deterministic() {
        let b = SearchBox {
            spread_max: 1e4,
            weights: WeightBox::Frobenius {
                min: 0.1,
                max: 10.0,
            },
        };
        let budget = Budget {
            iters: 300,
            ..SIGN_BUDGET
        };
        let a = search_sign(2..=3, &b, 4, budget, 7);
        let c = search_sign(2..=3, &b, 4, budget, 7);
        assert!(a.min_r < 0.0, "{}", a.min_r);
        assert_eq!(a.min_r.to_bits(), c.min_r.to_bits());
        assert_eq!(a.evals, c.evals);
        // A negative r needs ||W||_2^2 > 2, so ||W W^T - I||_2 > 1 (docs/theory.md §4.3).
        assert!(a.min_gap_negative.1 > 1.0, "{:?}", a.min_gap_negative);
    }
}

/// What [`theorem4_sign`] measured: the rows, the most negative (W, Sigma) found, and
/// the smallest r per size (data for a figure).
#[derive(Debug, Clone)]
pub struct SignCheck {
    /// The rows `theorem4-sign` and `theorem4-sign-region`, in that order.
    pub rows: Vec<CheckRow>,
    /// The counterexample with the smallest r (None when no r < 0 was found).
    pub counterexample: Option<(DMatrix<f64>, DMatrix<f64>)>,
    /// (n0, n1, smallest r) over the whole box.
    pub per_size: Vec<(usize, usize, f64)>,
}

/// Largest eigenvalue spread of Sigma searched.
pub const SPREAD_MAX: f64 = 1e4;
/// Starts per size (n0, n1).
pub const SIGN_STARTS: usize = 4;

/// Theorem 4's sign over n0 = 2..8, n1 < n0, Sigma spreads up to 1e4: (1) over
/// ||W||_F in [0.1, 10]; (2) over the region ||W||_2 <= sqrt 2, i.e.
/// ||W W^T - I||_2 <= 1, where the search finds no negative r; (3) just outside it,
/// ||W||_2^2 <= 2 + 1e-3, where it does. Rows `theorem4-sign` and
/// `theorem4-sign-region`.
pub fn theorem4_sign() -> SignCheck {
    let budget = SIGN_BUDGET;
    let full = SearchBox {
        spread_max: SPREAD_MAX,
        weights: WeightBox::Frobenius {
            min: 0.1,
            max: 10.0,
        },
    };
    let region = |t: f64| SearchBox {
        spread_max: SPREAD_MAX,
        weights: WeightBox::Spectral {
            max: (2.0 + t).sqrt(),
        },
    };
    let all = search_sign(2..=8, &full, SIGN_STARTS, budget, 41);
    let inside = search_sign(2..=8, &region(0.0), SIGN_STARTS, budget, 42);
    let outside = search_sign(2..=8, &region(1e-3), SIGN_STARTS, budget, 43);
    let evals = all.evals + inside.evals + outside.evals;
    let starts = all.starts + inside.starts + outside.starts;
    let gap = [&all, &inside, &outside]
        .iter()
        .fold((f64::INFINITY, f64::INFINITY), |g, s| {
            (g.0.min(s.min_gap_negative.0), g.1.min(s.min_gap_negative.1))
        });
    let size = |s: &SignSearch| {
        let (w, _) = (&s.w, &s.sigma);
        format!("n0 = {}, n1 = {}", w.ncols(), w.nrows())
    };
    let method = format!(
        "Nelder-Mead, {} iterations from {SIGN_STARTS} starts per (n0, n1), {starts} starts and {evals} evaluations in all",
        budget.iters
    );
    let sign = row(
        "theorem4-sign",
        "<E vec G_0, E vec G> > 0 (Oja's direction projects positively on LMSER's)",
        format!(
            "smallest cosine r = <E G_0, E G> / (||E G_0|| ||E G||) over n0 = 2..8, n1 < n0, Sigma spread <= 1e4, ||W||_F in [0.1, 10]: {:.4} ({}; W and Sigma in w.csv, sigma.csv); negative r needs ||W||_2^2 > 2: smallest ||W W^T - I||_F (and _2) at a negative r found: {:.5} ({:.5}); {method}",
            all.min_r,
            size(&all),
            gap.0,
            gap.1
        ),
        if all.min_r < 0.0 {
            Verdict::Fails
        } else {
            Verdict::Holds
        },
        false,
    )
    .key("min r", all.min_r, Some(0.0));
    let held = inside.min_r >= 0.0;
    let region_row = row(
        "theorem4-sign-region",
        "(where the sign claim holds) r > 0 when ||W W^T - I||_2 <= 1",
        format!(
            "smallest r with every singular value of W <= sqrt 2 (||W W^T - I||_2 <= 1), n0 = 2..8, spread <= 1e4: {:.4e}; with ||W||_2^2 <= 2 + 1e-3 already {:.4e} ({}); proved for n1 = 1 and for ||W||_2 <= 1, searched otherwise (docs/theory.md §4.3)",
            inside.min_r,
            outside.min_r,
            size(&outside)
        ),
        if held && outside.min_r < 0.0 {
            Verdict::Holds
        } else if held {
            Verdict::HoldsWithConditions
        } else {
            Verdict::Fails
        },
        false,
    )
    .key("min r, ||W||_2^2 <= 2", inside.min_r, Some(0.0));
    SignCheck {
        rows: vec![sign, region_row],
        counterexample: (all.min_r < 0.0).then(|| (all.w.clone(), all.sigma.clone())),
        per_size: all.per_size,
    }
}

/// Writes a matrix as CSV rows (full precision, no header).
pub fn write_matrix(path: &std::path::Path, m: &DMatrix<f64>) -> crate::error::Result<()> {
    crate::io::output::write_csv(
        path,
        m.row_iter()
            .map(|r| r.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>()),
    )
}
