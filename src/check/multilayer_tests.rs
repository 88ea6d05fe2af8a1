//! Tests of multilayer.rs.

use super::*;

#[test]
fn quantiles_of_odd_and_even_samples() {
    assert_eq!(quantiles(&[3.0, -1.0, 2.0]), (-1.0, 2.0, 3.0));
    assert_eq!(quantiles(&[4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
    assert!(quantiles(&[]).0.is_nan());
}

/// The check must catch a wrong exact rule: the printed rule (which drops the
/// feedback of the settled state) and the exact one with one term's sign flipped
/// both fail the finite-difference test.
#[test]
fn a_wrong_gradient_fails_the_row() {
    let good = exact_gradient_row(&|n: &Net| n.update(MultiRule::LmserExact));
    assert_eq!(good.verdict, Verdict::Holds, "{}", good.measured);
    assert!(good.value < GRADIENT_BOUND);
    let printed = exact_gradient_row(&|n: &Net| n.update(MultiRule::Lmser));
    assert!(printed.is_bug(), "{}", printed.measured);
    let flipped = exact_gradient_row(&|n: &Net| {
        let mut g = n.update(MultiRule::LmserExact)?;
        let last = g.len() - 1;
        g[last] *= -1.0;
        Ok(g)
    });
    assert!(
        flipped.is_bug() && flipped.value > 0.01,
        "{}",
        flipped.measured
    );
}

/// A sample whose worst net points uphill is reported as a refuted slide claim
/// (fails, not a bug); one with every cosine positive holds.
#[test]
fn slides_row_verdicts() {
    let mut sample = RuleSample {
        cos: vec![0.5, 0.9, 0.99],
        cos_derived: vec![0.9, 0.95, 0.99],
        fell: vec![true; 3],
        ..RuleSample::default()
    };
    let r = slides_row(&sample, None);
    assert_eq!(r.verdict, Verdict::Holds);
    assert_eq!(r.value, 0.5);
    sample.cos[0] = -0.1;
    sample.fell[0] = false;
    let r = slides_row(&sample, None);
    assert_eq!(r.verdict, Verdict::Fails);
    assert!(!r.is_bug());
    assert!(r.measured.contains("cos > 0 for 2/3"), "{}", r.measured);
}
