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

/// A second moment C = E[x x^T], given as a matrix or by samples.
#[derive(Debug, Clone)]
pub enum Moment<'a> {
    /// C itself (n0 x n0), e.g. Sigma.
    Matrix(&'a DMatrix<f64>),
    /// C = X^T X / b for the b rows of X (b x n0).
    Samples(&'a DMatrix<f64>),
}

impl Moment<'_> {
    /// out = M C.
    fn right_mul(&self, m: &DMatrix<f64>, out: &mut DMatrix<f64>, scratch: &mut DMatrix<f64>) {
        match self {
            Moment::Matrix(c) => out.gemm(1.0, m, c, 0.0),
            Moment::Samples(x) => {
                // scratch = M X^T (n1 x b), out = scratch X / b.
                scratch.resize_mut(m.nrows(), x.nrows(), 0.0);
                for (j, row) in x.row_iter().enumerate() {
                    let mut col = scratch.column_mut(j);
                    col.gemv(1.0, m, &row.transpose(), 0.0);
                }
                out.gemm(1.0 / x.nrows() as f64, scratch, x, 0.0);
            }
        }
    }

    /// tr C.
    fn trace(&self) -> f64 {
        match self {
            Moment::Matrix(c) => c.trace(),
            Moment::Samples(x) => x.norm_squared() / x.nrows() as f64,
        }
    }
}

/// Work matrices of [`flow`] and [`reconstruction_error`], reused across calls so
/// the right-hand side of the averaged ODE does not allocate.
#[derive(Debug, Clone)]
pub struct Workspace {
    wc: DMatrix<f64>,  // W C            n1 x n0
    s1: DMatrix<f64>,  // W C W^T        n1 x n1
    k: DMatrix<f64>,   // W W^T          n1 x n1
    wt: DMatrix<f64>,  // W^T            n0 x n1
    m: DMatrix<f64>,   // n1 x n0 temporary
    mc: DMatrix<f64>,  // (M) C          n1 x n0
    aw: DMatrix<f64>,  // A W            n1 x n0
    sam: DMatrix<f64>, // samples scratch n1 x b
}

impl Workspace {
    /// Work matrices for an n1 x n0 weight matrix.
    pub fn new(n1: usize, n0: usize) -> Self {
        let z = |r, c| DMatrix::zeros(r, c);
        Workspace {
            wc: z(n1, n0),
            s1: z(n1, n1),
            k: z(n1, n1),
            wt: z(n0, n1),
            m: z(n1, n0),
            mc: z(n1, n0),
            aw: z(n1, n0),
            sam: z(n1, 1),
        }
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
pub fn flow(rule: &Rule, w: &DMatrix<f64>, c: &Moment, ws: &mut Workspace, out: &mut DMatrix<f64>) {
    if let Rule::LmserTanh { beta } = rule {
        match c {
            Moment::Samples(x) => {
                tanh_samples(*beta, w, x, Some(out));
            }
            Moment::Matrix(_) => out.fill(f64::NAN),
        }
        return;
    }
    let Workspace {
        wc,
        s1,
        k,
        wt,
        m,
        mc,
        aw,
        sam,
    } = ws;
    c.right_mul(w, wc, sam); // W C
    w.transpose_to(wt);
    s1.gemm(1.0, wc, wt, 0.0); // W C W^T
    k.gemm(1.0, w, wt, 0.0); // W W^T
    match rule {
        Rule::LmserTanh { .. } => unreachable!("handled above"),
        Rule::Oja | Rule::OjaWeighted { .. } => {
            // out = W C - Theta (W C W^T) W
            m.gemm(1.0, s1, w, 0.0);
            if let Rule::OjaWeighted { theta } = rule {
                scale_rows(m, theta);
            }
            out.copy_from(wc);
            *out -= &*m;
        }
        Rule::Lmser { gains, placement } => {
            aw.copy_from(w);
            if let Some(a) = gains {
                scale_rows(aw, a);
            }
            match placement {
                Placement::Gradient => {
                    // A [2 W C - (W C W^T) A W - (W W^T A W) C]
                    m.gemm(1.0, k, aw, 0.0);
                    c.right_mul(m, mc, sam);
                    out.copy_from(wc);
                    *out *= 2.0;
                    out.gemm(-1.0, s1, aw, 1.0);
                    *out -= &*mc;
                    if let Some(a) = gains {
                        scale_rows(out, a);
                    }
                }
                Placement::Output | Placement::Feedback => {
                    // [A] (W C - W C W^T W) + (A W - W W^T W) C
                    out.copy_from(wc);
                    out.gemm(-1.0, s1, w, 1.0);
                    if let (Placement::Output, Some(a)) = (placement, gains) {
                        scale_rows(out, a);
                    }
                    m.copy_from(aw);
                    m.gemm(-1.0, k, w, 1.0);
                    c.right_mul(m, mc, sam);
                    *out += &*mc;
                }
                Placement::Hebbian => {
                    // 2 A W C - W C W^T W - W W^T W C
                    out.copy_from(wc);
                    if let Some(a) = gains {
                        scale_rows(out, a);
                    }
                    *out *= 2.0;
                    out.gemm(-1.0, s1, w, 1.0);
                    m.gemm(1.0, k, w, 0.0);
                    c.right_mul(m, mc, sam);
                    *out -= &*mc;
                }
            }
        }
    }
}

/// J = 1/2 E||x - W^T B W x||^2 = 1/2 tr C - tr(B W C W^T) + 1/2 tr(B W C W^T B W W^T),
/// with B = A for the gradient placement and I otherwise (docs/theory.md §2.2, §5.1).
pub fn reconstruction_error(rule: &Rule, w: &DMatrix<f64>, c: &Moment, ws: &mut Workspace) -> f64 {
    if let Rule::LmserTanh { beta } = rule {
        return match c {
            Moment::Samples(x) => tanh_samples(*beta, w, x, None),
            Moment::Matrix(_) => f64::NAN,
        };
    }
    c.right_mul(w, &mut ws.wc, &mut ws.sam);
    w.transpose_to(&mut ws.wt);
    ws.s1.gemm(1.0, &ws.wc, &ws.wt, 0.0);
    ws.k.gemm(1.0, w, &ws.wt, 0.0);
    let b = rule.feedback_gains();
    let (mut bs, mut bk) = (ws.s1.clone(), ws.k.clone());
    if let Some(a) = b {
        scale_rows(&mut bs, a);
        scale_rows(&mut bk, a);
    }
    0.5 * c.trace() - bs.trace() + 0.5 * (bs.component_mul(&bk.transpose())).sum()
}

/// Frobenius norm of P_W - P_Phi: the projector onto the row space of W against the
/// projector onto the top-n1 eigenvectors (columns of `phi_top`, orthonormal).
pub fn subspace_error(w: &DMatrix<f64>, phi_top: &DMatrix<f64>) -> f64 {
    let svd = w.transpose().svd(true, false);
    let u = svd.u.expect("computed");
    let tol = 1e-10 * svd.singular_values.max().max(1e-300);
    let cols: Vec<_> = (0..u.ncols())
        .filter(|&i| svd.singular_values[i] > tol)
        .map(|i| u.column(i).into_owned())
        .collect();
    let n0 = w.ncols();
    let pw = if cols.is_empty() {
        DMatrix::zeros(n0, n0)
    } else {
        let q = DMatrix::from_columns(&cols);
        &q * q.transpose()
    };
    (pw - phi_top * phi_top.transpose()).norm()
}

/// ||W W^T - I||_F.
pub fn orth_error(w: &DMatrix<f64>) -> f64 {
    (w * w.transpose() - DMatrix::identity(w.nrows(), w.nrows())).norm()
}
