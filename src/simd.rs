//! Element-wise loops compiled for the widest vector unit the CPU has. The crate is
//! built for baseline x86-64 (SSE2, two doubles per instruction); the loops of the
//! solver and the right-hand sides that stream over whole states run several times
//! faster with AVX-512 (eight doubles). [`multiversion!`] compiles a function body
//! three times (AVX-512F, AVX2, baseline) and picks one at run time. The operations
//! and their order are the same in every version (Rust never fuses a multiply and an
//! add), so the results are the same bits on every CPU.

/// Defines `fn NAME(ARGS) BODY` (optionally generic over `const` parameters) that
/// runs BODY compiled for AVX-512F or AVX2 when the CPU has them.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$(const $g:ident: usize),*>)? ($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$(const $g: usize),*>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn wide $(<$(const $g: usize),*>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn medium $(<$(const $g: usize),*>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[allow(dead_code)]
            fn narrow $(<$(const $g: usize),*>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { wide $(::<$($g),*>)? ($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { medium $(::<$($g),*>)? ($($arg),*) };
                }
            }
            narrow $(::<$($g),*>)? ($($arg),*)
        }
    };
}
pub(crate) use multiversion;

multiversion! {
    /// out_i += a x_i.
    pub(crate) fn add_scaled(out: &mut [f64], a: f64, x: &[f64]) {
        let x = &x[..out.len()];
        for i in 0..out.len() {
            out[i] += a * x[i];
        }
    }
}

multiversion! {
    /// out_i += x_i.
    pub(crate) fn add(out: &mut [f64], x: &[f64]) {
        let x = &x[..out.len()];
        for i in 0..out.len() {
            out[i] += x[i];
        }
    }
}

multiversion! {
    /// Column j of the column-major `out` (columns of length `rows`) = column j of
    /// `m` times d_j.
    pub(crate) fn scale_columns_into(out: &mut [f64], m: &[f64], d: &[f64], rows: usize) {
        let m = &m[..out.len()];
        for (j, (o, src)) in out.chunks_exact_mut(rows).zip(m.chunks_exact(rows)).enumerate() {
            let dj = d[j];
            for i in 0..rows {
                o[i] = src[i] * dj;
            }
        }
    }
}

/// sum_i term(i) for i < n in eight interleaved partial sums (lane k takes
/// i = k mod 8, then the lanes and the tail are added in order): the order every
/// CPU uses, so the same bits everywhere. Inlined into the vectorised callers below.
#[inline(always)]
fn lane_sum(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let full = n - n % 8;
    for c in (0..full).step_by(8) {
        for (k, a) in acc.iter_mut().enumerate() {
            *a += term(c + k);
        }
    }
    let mut s = 0.0;
    for a in acc {
        s += a;
    }
    for i in full..n {
        s += term(i);
    }
    s
}

multiversion! {
    /// sum_i x_i^2 in the lanes and order of [`lane_sum`].
    pub(crate) fn sum_of_squares(x: &[f64]) -> f64 {
        lane_sum(x.len(), |i| x[i] * x[i])
    }
}

multiversion! {
    /// sum_i (e_i / (atol + rtol max(|y_i|, |z_i|)))^2, the squared scaled error of an
    /// embedded pair (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4), in the lanes
    /// and order of [`lane_sum`].
    pub(crate) fn scaled_error_squares(e: &[f64], y: &[f64], z: &[f64], atol: f64, rtol: f64) -> f64 {
        let n = e.len();
        let (y, z) = (&y[..n], &z[..n]);
        lane_sum(n, |i| {
            let r = e[i] / (atol + rtol * y[i].abs().max(z[i].abs()));
            r * r
        })
    }
}

multiversion! {
    /// True when some x_i is NaN or |x_i| > bound: a flag
    /// or-ed over every value, with no early exit, so that the pass vectorises.
    pub(crate) fn any_beyond(x: &[f64], bound: f64) -> bool {
        let mut out = false;
        for v in x {
            out |= v.is_nan() | (v.abs() > bound);
        }
        out
    }
}

multiversion! {
    /// sum_i (a_i - b_i)^2 in the lanes and order of [`lane_sum`].
    pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
        let b = &b[..a.len()];
        lane_sum(a.len(), |i| {
            let d = a[i] - b[i];
            d * d
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{any_beyond, scaled_error_squares, squared_distance};

    /// Against the plain sum (bound as for `scaled_error_squares`).
    #[test]
    fn squared_distance_is_the_plain_sum() {
        for n in [0, 1, 7, 8, 9, 17, 512] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let got = squared_distance(&a, &b);
            assert!(
                (got - plain).abs() <= n as f64 * f64::EPSILON * plain,
                "n = {n}"
            );
        }
    }

    /// Each kind of value at each position of lengths around the lane width: NaN,
    /// +-inf and values just beyond the bound are found, the bound itself is not.
    #[test]
    fn any_beyond_finds_every_kind_anywhere() {
        let bound = 1e8;
        for n in [1, 7, 8, 9, 33] {
            assert!(!any_beyond(&vec![bound; n], bound));
            assert!(!any_beyond(&vec![-bound; n], bound));
            for bad in [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1.0000001e8,
                -1.0000001e8,
            ] {
                for i in 0..n {
                    let mut x = vec![0.5; n];
                    x[i] = bad;
                    assert!(any_beyond(&x, bound), "n = {n}, x[{i}] = {bad}");
                }
            }
        }
        assert!(!any_beyond(&[], bound));
    }

    /// Against the plain left-to-right sum, on lengths around the lane width: the
    /// two orders of summation of n positive terms differ by at most n eps times the
    /// sum (Higham, Accuracy and Stability, §4.2).
    #[test]
    fn scaled_error_squares_is_the_plain_sum() {
        let (atol, rtol) = (1e-9, 1e-6);
        for n in [0, 1, 7, 8, 9, 17, 1040] {
            let v = |i: usize, s: f64| ((i as f64 + s) * 0.7).sin() * 10f64.powi(i as i32 % 7 - 3);
            let e: Vec<f64> = (0..n).map(|i| v(i, 0.1) * 1e-7).collect();
            let y: Vec<f64> = (0..n).map(|i| v(i, 0.3)).collect();
            let z: Vec<f64> = (0..n).map(|i| v(i, 0.5)).collect();
            let plain: f64 = (0..n)
                .map(|i| (e[i] / (atol + rtol * y[i].abs().max(z[i].abs()))).powi(2))
                .sum();
            let got = scaled_error_squares(&e, &y, &z, atol, rtol);
            assert!(
                (got - plain).abs() <= n as f64 * f64::EPSILON * plain,
                "n = {n}: {got} vs {plain}"
            );
        }
    }
}
