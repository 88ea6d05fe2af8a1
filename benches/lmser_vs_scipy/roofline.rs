//! The floating-point bound of the stochastic digits case: how fast any one-thread
//! implementation of the minibatch loop can be on this core.
//!
//! One minibatch of b samples needs at least
//!
//!   Y = W X_b^T             2 n1 n0 b
//!   A = Y Y^T / b           n1^2 b     (symmetric: half of 2 n1^2 b)
//!   B = W W^T               n1^2 n0    (symmetric)
//!   G = (2 I - B) Y / b     2 n1^2 b
//!   F = G X_b - A W         2 n1 n0 b + 2 n1^2 n0
//!
//! flops (F = 2 W C - (W C W^T) W - (W W^T) W C with W C = Y X_b / b, regrouped to
//! the fewest operations; lmser's `flow` does 2 n1^2 n0 more). The bound is that count
//! over the rate of a large matrix product (n = 1024, faer, one thread) measured in
//! the same run: the most the core sustains on dense arithmetic, which small products
//! (16 x 64 by 64 x 32) cannot exceed.

use super::Res;
use super::support::Row;
use faer::{Accum, Mat, Par, linalg::matmul::matmul};
use std::time::Instant;

/// Flops of one minibatch of `b` samples (module docs).
pub fn batch_flops(n1: usize, n0: usize, b: usize) -> f64 {
    let (n1, n0, b) = (n1 as f64, n0 as f64, b as f64);
    4.0 * n1 * n0 * b + 3.0 * n1 * n1 * b + 3.0 * n1 * n1 * n0
}

/// Flop rate of a 1024 x 1024 product on one thread (best of 5), flops per second.
pub fn peak_rate() -> f64 {
    let n = 1024;
    let a = Mat::<f64>::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f64 / 17.0);
    let b = Mat::<f64>::from_fn(n, n, |i, j| ((i * 5 + j * 3) % 11) as f64 / 11.0);
    let mut c = Mat::<f64>::zeros(n, n);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        matmul(
            c.as_mut(),
            Accum::Replace,
            a.as_ref(),
            b.as_ref(),
            1.0,
            Par::Seq,
        );
        best = best.min(start.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    2.0 * (n as f64).powi(3) / best
}

/// The bound's row: the least time of the whole loop (`batches` minibatch sizes) at
/// this core's peak rate.
pub fn stochastic_bound(problem: &str, n1: usize, n0: usize, batches: &[usize]) -> Res<Row> {
    let flops: f64 = batches.iter().map(|&b| batch_flops(n1, n0, b)).sum();
    let rate = peak_rate();
    if !(rate.is_finite() && rate > 0.0) {
        return Err("the peak flop rate could not be measured".into());
    }
    let label = format!(
        "flop bound: {:.3e} flops at {:.1} GFLOP/s (one-thread 1024^2 GEMM)",
        flops,
        rate / 1e9
    );
    eprintln!("{problem}: {label}");
    Ok(Row::named(
        problem,
        "bound",
        &label,
        "solve",
        vec![flops / rate],
    ))
}
