//! Learning rules of the one-layer net (docs/theory.md §2, §4, §5; Xu 1993 eqns
//! 10a/10b, 12 and section 6), written as flows tau_w dW/dt = F(W; C) of a second
//! moment C = E[x x^T]: the averaged rule when C = Sigma, the per-sample rule when
//! C = x x^T, the minibatch rule when C = X^T X / b. With y = W x, z = A y,
//! u = W^T y, y' = W u:
//!
//! - LMSER: G = y (x - u)^T + (y - y') x^T, F = 2 W C - W C W^T W - W W^T W C;
//! - Oja's subspace rule: G_0 = y x^T - y y^T W, F = W C - W C W^T W;
//! - amplified variants (A = diag(a_1 > ... > a_n > 0)):
//!   (a) `gradient`: -grad of 1/2 E||x - W^T A W x||^2, F = A W [C (I - P) + (I - P) C],
//!   P = W^T A W;
//!   (b) `output`: z (x - u)^T + (z - y') x^T, F = A W C (I - W^T W) + (A W - W W^T W) C;
//!   (c) `feedback`: y (x - u)^T + (z - y') x^T, F = W C (I - W^T W) + (A W - W W^T W) C;
//!   (d) `hebbian`: 2 z x^T - y u^T - y' x^T, F = 2 A W C - W C W^T W - W W^T W C;
//! - Oja's weighted rule: F = W C - Theta W C W^T W, Theta = A^-1 or A.
//!
//! With A = I every variant reduces to LMSER. Only products M C appear, so C never
//! has to be formed for samples.
//!
//! Nonlinear units z = s(y), s(v) = tanh(beta v) (`Rule::LmserTanh`), follow the slides'
//! k = 1 rule G = z e^T + (s'(y) . W e) x^T with e = x - W^T z, which is exactly
//! -grad of 1/2 ||x - W^T s(W x)||^2; it has no closed form over Sigma, so it is
//! averaged over samples only.
//!
//! ```
//! use lmser::dynamics::rules::{Moment, Rule, Workspace, flow, reconstruction_error};
//! use nalgebra::DMatrix;
//! // Sigma = diag(3, 2, 1): W with rows e_1, e_2 is the minimum of J (Theorem 2),
//! // a fixed point of LMSER with J = 1/2 (tr Sigma - 3 - 2) = 1/2.
//! let sigma = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![3.0, 2.0, 1.0]));
//! let w = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
//! let (mut ws, mut f) = (Workspace::new(2, 3), DMatrix::zeros(2, 3));
//! flow(&Rule::lmser(), &w, &Moment::Matrix(&sigma), &mut ws, &mut f);
//! assert!(f.norm() < 1e-15);
//! let j = reconstruction_error(&Rule::lmser(), &w, &Moment::Matrix(&sigma), &mut ws);
//! assert!((j - 0.5).abs() < 1e-15);
//! ```

use crate::linalg::{Op, gemm, product, symmetric_product};
use crate::simd;
use nalgebra::{DMatrix, DVector};

/// Where the amplification A enters the LMSER rule (docs/theory.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// (a) exact gradient flow of 1/2 E||x - W^T A W x||^2.
    Gradient,
    /// (b) z (x - u)^T + (z - y') x^T.
    Output,
    /// (c) y (x - u)^T + (z - y') x^T.
    Feedback,
    /// (d) 2 z x^T - y u^T - y' x^T.
    Hebbian,
}

impl Placement {
    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Gradient => "gradient",
            Placement::Output => "output",
            Placement::Feedback => "feedback",
            Placement::Hebbian => "hebbian",
        }
    }
    /// All placements, in the order (a)-(d).
    pub const ALL: [Placement; 4] = [
        Placement::Gradient,
        Placement::Output,
        Placement::Feedback,
        Placement::Hebbian,
    ];
}

/// A one-layer learning rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// LMSER, optionally with amplification gains and their placement.
    Lmser {
        /// The gains a_j of z = A y, one per row of W (docs/theory.md §5.1); None: A = Id.
        gains: Option<DVector<f64>>,
        /// Where A enters the rule; every placement is plain LMSER when `gains` is None.
        placement: Placement,
    },
    /// Oja's subspace rule.
    Oja,
    /// Oja's weighted rule W C - Theta W C W^T W with Theta = diag(theta).
    OjaWeighted {
        /// The diagonal of Theta, one weight per row of W (A^-1 or A, docs/theory.md §5.1).
        theta: DVector<f64>,
    },
    /// LMSER with tanh(beta v) units (sample moments only).
    LmserTanh {
        /// The gain beta > 0 of s(v) = tanh(beta v) (docs/theory.md §2.5).
        beta: f64,
    },
}

impl Rule {
    /// Plain LMSER.
    pub fn lmser() -> Rule {
        Rule::Lmser {
            gains: None,
            placement: Placement::Gradient,
        }
    }

    /// Short description for summaries.
    pub fn describe(&self) -> String {
        match self {
            Rule::Lmser { gains: None, .. } => "lmser".into(),
            Rule::Lmser {
                gains: Some(_),
                placement,
            } => format!("lmser, amplified, placement {}", placement.name()),
            Rule::Oja => "oja".into(),
            Rule::OjaWeighted { .. } => "oja-weighted".into(),
            Rule::LmserTanh { beta } => format!("lmser, tanh units (beta {beta})"),
        }
    }

    /// The matrix B of the reconstruction u_0 = W^T B W x used for J: A for the
    /// gradient placement (its feedback is u = W^T z), I otherwise.
    fn feedback_gains(&self) -> Option<&DVector<f64>> {
        match self {
            Rule::Lmser {
                gains: Some(a),
                placement: Placement::Gradient,
            } => Some(a),
            _ => None,
        }
    }
}

/// A second moment C = E[x x^T], given as a matrix or by samples, or, in an
/// eigenbasis of Sigma, by its eigenvalues.
#[derive(Debug, Clone)]
pub enum Moment<'a> {
    /// C itself (n0 x n0), e.g. Sigma.
    Matrix(&'a DMatrix<f64>),
    /// C = X^T X / b for the b rows of X (b x n0).
    Samples(&'a DMatrix<f64>),
    /// C = diag(lambda): Sigma = Phi diag(lambda) Phi^T in its eigenbasis. Every
    /// rule is equivariant, F(W Phi; Phi^T Sigma Phi) = F(W; Sigma) Phi, so the flow
    /// of V = W Phi over this moment is the flow of W over Sigma, rotated.
    Diagonal(&'a DVector<f64>),
}

impl Moment<'_> {
    /// out = M C: the one product per flow whose cost grows with n0^2 (n1 n0^2 for a
    /// matrix, 2 n1 n0 b for samples, n1 n0 for a diagonal).
    fn right_mul(&self, m: &DMatrix<f64>, out: &mut DMatrix<f64>, scratch: &mut DMatrix<f64>) {
        match self {
            Moment::Matrix(c) => gemm(out, 1.0, m, Op::N, c, Op::N, 0.0),
            Moment::Samples(x) => {
                // scratch = M X^T (n1 x b), out = scratch X / b.
                if scratch.shape() != (m.nrows(), x.nrows()) {
                    *scratch = DMatrix::zeros(m.nrows(), x.nrows());
                }
                gemm(scratch, 1.0, m, Op::N, x, Op::T, 0.0);
                gemm(out, 1.0 / x.nrows() as f64, scratch, Op::N, x, Op::N, 0.0);
            }
            Moment::Diagonal(d) => {
                let rows = m.nrows();
                simd::scale_columns_into(out.as_mut_slice(), m.as_slice(), d.as_slice(), rows);
            }
        }
    }

    /// tr C.
    fn trace(&self) -> f64 {
        match self {
            Moment::Matrix(c) => c.trace(),
            Moment::Samples(x) => x.norm_squared() / x.nrows() as f64,
            Moment::Diagonal(d) => d.sum(),
        }
    }
}

/// Work matrices of [`flow`] and [`reconstruction_error`], reused across calls so
/// the right-hand side of the averaged ODE does not allocate.
#[derive(Debug, Clone)]
pub struct Workspace {
    wc: DMatrix<f64>,  // W C            n1 x n0
    awc: DMatrix<f64>, // A W C          n1 x n0 (with gains)
    s1: DMatrix<f64>,  // W C W^T        n1 x n1
    k: DMatrix<f64>,   // W W^T          n1 x n1
    aw: DMatrix<f64>,  // A W            n1 x n0 (with gains)
    sam: DMatrix<f64>, // samples scratch n1 x b
}

impl Workspace {
    /// Work matrices for an n1 x n0 weight matrix.
    pub fn new(n1: usize, n0: usize) -> Self {
        let z = |r, c| DMatrix::zeros(r, c);
        Workspace {
            wc: z(n1, n0),
            awc: z(n1, n0),
            s1: z(n1, n1),
            k: z(n1, n1),
            aw: z(n1, n0),
            sam: z(n1, 1),
        }
    }

    /// W W^T as formed by the last [`flow`], [`flow_and_error`] or
    /// [`reconstruction_error`] of a rule with a closed form over C (the tanh rule
    /// forms no products: its Gram matrix is left as it was).
    pub fn gram(&self) -> &DMatrix<f64> {
        &self.k
    }
}

/// Scales row i of m by d_i.
pub(crate) fn scale_rows<S: nalgebra::StorageMut<f64, nalgebra::Dyn, nalgebra::Dyn>>(
    m: &mut nalgebra::Matrix<f64, nalgebra::Dyn, nalgebra::Dyn, S>,
    d: &DVector<f64>,
) {
    for (i, mut row) in m.row_iter_mut().enumerate() {
        row *= d[i];
    }
}

/// The tanh rule averaged over the rows of `x` (and, with `out`, the mean of
/// 1/2 ||x - W^T tanh(beta W x)||^2), for all samples at once, in the samples-as-rows
/// layout (no b x n0 transpose per call): with Y^T = X W^T, Z^T = tanh(beta Y^T),
/// E^T = X - Z^T W, G = (Z E^T + (beta (1 - Z^2) . W E) X) / b.
fn tanh_samples(
    beta: f64,
    w: &DMatrix<f64>,
    x: &DMatrix<f64>,
    out: Option<&mut DMatrix<f64>>,
) -> f64 {
    let b = x.nrows() as f64;
    let zt = (x * w.transpose()).map(|v| (beta * v).tanh());
    let et = x - &zt * w;
    let j = 0.5 * et.norm_squared() / b;
    if let Some(out) = out {
        let mut dt = &et * w.transpose();
        dt.zip_apply(&zt, |dv, zv| *dv *= beta * (1.0 - zv * zv));
        out.copy_from(&(zt.tr_mul(&et) + dt.tr_mul(x)));
        *out /= b;
    }
    j
}

/// F(W; C) of `rule` (module docs) into `out` (n1 x n0). `Rule::LmserTanh` needs
/// `Moment::Samples`; given a matrix it yields NaN, which the driver reports.
///
/// One product M C per call: W C is formed once and every other term is an n1 x n1
/// matrix times W or W C, e.g. W W^T W C = (W W^T)(W C) and, for samples,
/// (A W - W W^T W) C = A (W C) - (W W^T)(W C). The averaged one-layer rule thus
/// costs one n1 n0^2 product and four of order n1^2 n0 (with `Moment::Diagonal`
/// only the latter).
pub fn flow(rule: &Rule, w: &DMatrix<f64>, c: &Moment, ws: &mut Workspace, out: &mut DMatrix<f64>) {
    if let Rule::LmserTanh { beta } = rule {
        match c {
            Moment::Samples(x) => {
                tanh_samples(*beta, w, x, Some(out));
            }
            Moment::Matrix(_) | Moment::Diagonal(_) => out.fill(f64::NAN),
        }
        return;
    }
    products(w, c, ws);
    combine(rule, w, ws, out);
}

/// [`flow`] into `out` and [`reconstruction_error`] as the value, sharing the one
/// product W C.
pub fn flow_and_error(
    rule: &Rule,
    w: &DMatrix<f64>,
    c: &Moment,
    ws: &mut Workspace,
    out: &mut DMatrix<f64>,
) -> f64 {
    if let Rule::LmserTanh { beta } = rule {
        return match c {
            Moment::Samples(x) => tanh_samples(*beta, w, x, Some(out)),
            Moment::Matrix(_) | Moment::Diagonal(_) => {
                out.fill(f64::NAN);
                f64::NAN
            }
        };
    }
    products(w, c, ws);
    combine(rule, w, ws, out);
    error_from_products(rule, c, ws)
}

/// W C, W C W^T and W W^T into the workspace (the last two symmetric: C is).
fn products(w: &DMatrix<f64>, c: &Moment, ws: &mut Workspace) {
    c.right_mul(w, &mut ws.wc, &mut ws.sam);
    symmetric_product(&mut ws.s1, &ws.wc, w);
    symmetric_product(&mut ws.k, w, w);
}

/// F(W; C) of a rule with a closed form over C, from the products in `ws`.
fn combine(rule: &Rule, w: &DMatrix<f64>, ws: &mut Workspace, out: &mut DMatrix<f64>) {
    let Workspace {
        wc, awc, s1, k, aw, ..
    } = ws;
    let (wc, s1, k) = (&*wc, &*s1, &*k);
    match rule {
        Rule::LmserTanh { .. } => unreachable!("no closed form over C"),
        Rule::Oja | Rule::OjaWeighted { .. } => {
            // out = W C - Theta (W C W^T) W
            gemm(out, -1.0, s1, Op::N, w, Op::N, 0.0);
            if let Rule::OjaWeighted { theta } = rule {
                scale_rows(out, theta);
            }
            simd::add(out.as_mut_slice(), wc.as_slice());
        }
        Rule::Lmser { gains, placement } => {
            // A W and A (W C); W and W C themselves without gains.
            let (aw, awc): (&DMatrix<f64>, &DMatrix<f64>) = match gains {
                Some(a) => {
                    aw.copy_from(w);
                    scale_rows(aw, a);
                    awc.copy_from(wc);
                    scale_rows(awc, a);
                    (aw, awc)
                }
                None => (w, wc),
            };
            match placement {
                Placement::Gradient => {
                    // A [2 W C - (W C W^T) A W - (W W^T) A (W C)]
                    gemm(out, -1.0, s1, Op::N, aw, Op::N, 0.0);
                    gemm(out, -1.0, k, Op::N, awc, Op::N, 1.0);
                    simd::add_scaled(out.as_mut_slice(), 2.0, wc.as_slice());
                    if let Some(a) = gains {
                        scale_rows(out, a);
                    }
                }
                Placement::Output | Placement::Feedback => {
                    // [A] (W C - W C W^T W) + A (W C) - (W W^T)(W C)
                    gemm(out, -1.0, s1, Op::N, w, Op::N, 0.0);
                    simd::add(out.as_mut_slice(), wc.as_slice());
                    if let (Placement::Output, Some(a)) = (placement, gains) {
                        scale_rows(out, a);
                    }
                    simd::add(out.as_mut_slice(), awc.as_slice());
                    gemm(out, -1.0, k, Op::N, wc, Op::N, 1.0);
                }
                Placement::Hebbian => {
                    // 2 A (W C) - W C W^T W - (W W^T)(W C)
                    gemm(out, -1.0, s1, Op::N, w, Op::N, 0.0);
                    gemm(out, -1.0, k, Op::N, wc, Op::N, 1.0);
                    simd::add_scaled(out.as_mut_slice(), 2.0, awc.as_slice());
                }
            }
        }
    }
}

/// J from the products in `ws` (see [`reconstruction_error`]).
fn error_from_products(rule: &Rule, c: &Moment, ws: &Workspace) -> f64 {
    let g = |i: usize| rule.feedback_gains().map_or(1.0, |a| a[i]);
    let (s1, k) = (&ws.s1, &ws.k);
    let n1 = s1.nrows();
    let trace: f64 = (0..n1).map(|i| s1[(i, i)] * g(i)).sum();
    // sum_ij (B S1)_ij (B K)_ji, column by column.
    let mut quad = 0.0;
    for j in 0..n1 {
        for i in 0..n1 {
            quad += (s1[(i, j)] * g(i)) * (k[(j, i)] * g(j));
        }
    }
    0.5 * c.trace() - trace + 0.5 * quad
}

/// J = 1/2 E||x - W^T B W x||^2 = 1/2 tr C - tr(B W C W^T) + 1/2 tr(B W C W^T B W W^T),
/// with B = A for the gradient placement and I otherwise (docs/theory.md §2.2, §5.1).
pub fn reconstruction_error(rule: &Rule, w: &DMatrix<f64>, c: &Moment, ws: &mut Workspace) -> f64 {
    if let Rule::LmserTanh { beta } = rule {
        return match c {
            Moment::Samples(x) => tanh_samples(*beta, w, x, None),
            Moment::Matrix(_) | Moment::Diagonal(_) => f64::NAN,
        };
    }
    products(w, c, ws);
    error_from_products(rule, c, ws)
}

/// Frobenius norm of P_W - P_Phi: the projector onto the row space of W against the
/// projector onto the top-n1 eigenvectors (columns of `phi_top`, orthonormal).
///
/// With Q an orthonormal basis of the row space (the left singular vectors of W^T
/// whose singular values exceed 1e-10 times the largest),
/// ||P_W - P_Phi||_F^2 = ||Q - Phi (Phi^T Q)||_F^2 + ||Phi - Q (Q^T Phi)||_F^2:
/// both residuals are n0 x n1, so the cost is of order n0 n1^2, never n0^2, and no
/// difference of nearly equal projectors is formed.
pub fn subspace_error(w: &DMatrix<f64>, phi_top: &DMatrix<f64>) -> f64 {
    let q = row_space(w);
    if q.ncols() == 0 {
        return phi_top.norm();
    }
    let mut r1 = q.clone();
    gemm(
        &mut r1,
        -1.0,
        phi_top,
        Op::N,
        &product(phi_top, Op::T, &q, Op::N),
        Op::N,
        1.0,
    );
    let mut r2 = phi_top.clone();
    gemm(
        &mut r2,
        -1.0,
        &q,
        Op::N,
        &product(&q, Op::T, phi_top, Op::N),
        Op::N,
        1.0,
    );
    (r1.norm_squared() + r2.norm_squared()).sqrt()
}

/// An orthonormal basis (columns, n0 x r) of the row space of W: the left singular
/// vectors of W^T whose singular values exceed 1e-10 times the largest.
fn row_space(w: &DMatrix<f64>) -> DMatrix<f64> {
    let (u, s) = crate::linalg::svd_of_transpose(w);
    let tol = 1e-10 * s.max().max(1e-300);
    let keep: Vec<usize> = (0..s.len()).filter(|&i| s[i] > tol).collect();
    DMatrix::from_fn(u.nrows(), keep.len(), |i, j| u[(i, keep[j])])
}

/// ||W W^T - I||_F.
pub fn orth_error(w: &DMatrix<f64>) -> f64 {
    (w * w.transpose() - DMatrix::identity(w.nrows(), w.nrows())).norm()
}

/// ||K - I||_F of a Gram matrix K = W W^T: [`orth_error`] from an already formed
/// W W^T (e.g. [`Workspace::gram`]).
pub fn orth_error_of_gram(k: &DMatrix<f64>) -> f64 {
    let n = k.nrows();
    let mut s = 0.0;
    for j in 0..n {
        for i in 0..n {
            let d = k[(i, j)] - if i == j { 1.0 } else { 0.0 };
            s += d * d;
        }
    }
    s.sqrt()
}
