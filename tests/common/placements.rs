//! The amplified LMSER placements and Oja's weighted rule written out by hand from
//! the doc comments of src/dynamics/rules.rs and the README, for tests/placements.rs
//! (whose module docs list the formulas): the per-sample forms G and the averaged
//! forms F(W; C).

use lmser::dynamics::rules::{Placement, Rule};
use nalgebra::{DMatrix, DVector};

/// G of one sample x for `rule` (module docs), written from the per-sample forms.
pub fn per_sample(rule: &Rule, w: &DMatrix<f64>, x: &DVector<f64>) -> DMatrix<f64> {
    let y = w * x;
    let u = w.transpose() * &y;
    let y2 = w * &u; // y'
    match rule {
        Rule::Lmser {
            gains: Some(a),
            placement,
        } => {
            let z = a.component_mul(&y);
            match placement {
                Placement::Output => &z * (x - &u).transpose() + (&z - &y2) * x.transpose(),
                Placement::Feedback => &y * (x - &u).transpose() + (&z - &y2) * x.transpose(),
                Placement::Hebbian => {
                    2.0 * &z * x.transpose() - &y * u.transpose() - &y2 * x.transpose()
                }
                Placement::Gradient => {
                    let aw = DMatrix::from_diagonal(a) * w;
                    let e = x - w.transpose() * &z;
                    aw * (x * e.transpose() + &e * x.transpose())
                }
            }
        }
        Rule::OjaWeighted { theta } => {
            &y * x.transpose() - DMatrix::from_diagonal(theta) * &y * y.transpose() * w
        }
        _ => unreachable!("not a rule of this file"),
    }
}

/// The averaged F(W; C) of the rules.rs docs, as a sum of signed terms, and the same
/// sum with every matrix and coefficient replaced by its absolute value (the scale
/// of the rounding errors of evaluating it: |fl(F) - F| <= c n eps F_abs entrywise).
pub fn averaged(rule: &Rule, w: &DMatrix<f64>, c: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let terms = |w: &DMatrix<f64>, c: &DMatrix<f64>, abs: bool| -> Vec<(f64, DMatrix<f64>)> {
        let id = DMatrix::<f64>::identity(w.ncols(), w.ncols());
        let wt = w.transpose();
        match rule {
            Rule::Lmser {
                gains: Some(a),
                placement,
            } => {
                let am = DMatrix::from_diagonal(a);
                match placement {
                    // A W C (I - W^T W) + (A W - W W^T W) C
                    Placement::Output => vec![
                        (1.0, &am * w * c),
                        (-1.0, &am * w * c * &wt * w),
                        (1.0, &am * w * c),
                        (-1.0, w * &wt * w * c),
                    ],
                    // W C (I - W^T W) + (A W - W W^T W) C
                    Placement::Feedback => vec![
                        (1.0, w * c),
                        (-1.0, w * c * &wt * w),
                        (1.0, &am * w * c),
                        (-1.0, w * &wt * w * c),
                    ],
                    // 2 A W C - W C W^T W - W W^T W C
                    Placement::Hebbian => vec![
                        (2.0, &am * w * c),
                        (-1.0, w * c * &wt * w),
                        (-1.0, w * &wt * w * c),
                    ],
                    // A W [C (I - P) + (I - P) C], P = W^T A W
                    Placement::Gradient => {
                        let p = &wt * &am * w;
                        let ip = if abs { &id + &p } else { &id - &p };
                        vec![(1.0, &am * w * (c * &ip + &ip * c))]
                    }
                }
            }
            // W C - Theta W C W^T W
            Rule::OjaWeighted { theta } => vec![
                (1.0, w * c),
                (-1.0, DMatrix::from_diagonal(theta) * w * c * &wt * w),
            ],
            _ => unreachable!("not a rule of this file"),
        }
    };
    let sum = |ts: Vec<(f64, DMatrix<f64>)>, abs: bool| {
        ts.into_iter()
            .fold(DMatrix::zeros(w.nrows(), w.ncols()), |acc, (k, m)| {
                if abs { acc + m * k.abs() } else { acc + m * k }
            })
    };
    let (wa, ca) = (w.abs(), c.abs());
    (
        sum(terms(w, c, false), false),
        sum(terms(&wa, &ca, true), true),
    )
}
