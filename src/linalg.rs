//! Dense kernels on nalgebra storage computed by `faer` (single thread, [`sequential`]): matrix
//! products, the symmetric eigendecomposition and the QR factorisation. The crate's
//! types stay nalgebra's; faer views the same column-major storage without copying.
//! Measured on the 2-core development machine (docs/numerics.md §11): faer's GEMM
//! is about 2x matrixmultiply's at 32 x 784 x 784 and does not allocate per call,
//! its symmetric eigendecomposition of a 784 x 784 matrix about 4x nalgebra's, its
//! QR about 4x. Results equal nalgebra's to rounding (sums are blocked differently).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::{DMatrix, DVector};

/// Sets faer's global parallelism, which its decompositions (eigen, QR, SVD, LU) read,
/// to one thread. diffsol turns on faer's `rayon` feature, whose default is all
/// threads; lmser's results must not depend on the thread count.
pub(crate) fn sequential() {
    faer::set_global_parallelism(Par::Seq);
}

/// Whether an operand enters a product as it is or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// The matrix itself.
    N,
    /// Its transpose.
    T,
}

fn view(m: &DMatrix<f64>, op: Op) -> MatRef<'_, f64> {
    let v = MatRef::from_column_major_slice(m.as_slice(), m.nrows(), m.ncols());
    match op {
        Op::N => v,
        Op::T => v.transpose(),
    }
}

fn view_mut(m: &mut DMatrix<f64>) -> MatMut<'_, f64> {
    let (r, c) = m.shape();
    MatMut::from_column_major_slice_mut(m.as_mut_slice(), r, c)
}

/// out = alpha op(a) op(b) + beta out, with beta 0 (out overwritten, never read)
/// or 1 (accumulate). `out` must already have the product's shape.
pub(crate) fn gemm(
    out: &mut DMatrix<f64>,
    alpha: f64,
    a: &DMatrix<f64>,
    ta: Op,
    b: &DMatrix<f64>,
    tb: Op,
    beta: f64,
) {
    let accum = accum(beta);
    matmul(
        view_mut(out),
        accum,
        view(a, ta),
        view(b, tb),
        alpha,
        Par::Seq,
    );
}

/// op(a) op(b) as a new matrix.
pub(crate) fn product(a: &DMatrix<f64>, ta: Op, b: &DMatrix<f64>, tb: Op) -> DMatrix<f64> {
    let rows = if ta == Op::N { a.nrows() } else { a.ncols() };
    let cols = if tb == Op::N { b.ncols() } else { b.nrows() };
    let mut out = DMatrix::zeros(rows, cols);
    gemm(&mut out, 1.0, a, ta, b, tb, 0.0);
    out
}

/// Eigenvalues (ascending) and eigenvectors (columns, in the same order) of the
/// symmetric matrix `s` (its lower triangle is read). Falls back to nalgebra if
/// faer's QR iteration does not converge.
pub(crate) fn symmetric_eigen(s: &DMatrix<f64>) -> (DVector<f64>, DMatrix<f64>) {
    let n = s.nrows();
    sequential();
    match view(s, Op::N).self_adjoint_eigen(faer::Side::Lower) {
        Ok(e) => {
            let values = DVector::from_iterator(n, e.S().column_vector().iter().copied());
            let u = e.U();
            let vectors = DMatrix::from_fn(n, n, |i, j| u[(i, j)]);
            (values, vectors)
        }
        Err(_) => {
            let e = s.clone().symmetric_eigen();
            (e.eigenvalues, e.eigenvectors)
        }
    }
}

/// Q (n x n) and the diagonal of R of the QR factorisation of the square matrix `g`.
pub(crate) fn qr_square(g: &DMatrix<f64>) -> (DMatrix<f64>, DVector<f64>) {
    let n = g.nrows();
    sequential();
    let qr = view(g, Op::N).qr();
    let q = qr.compute_Q();
    let r = qr.R();
    (
        DMatrix::from_fn(n, n, |i, j| q[(i, j)]),
        DVector::from_fn(n, |i, _| r[(i, i)]),
    )
}

/// The thin SVD of W^T for an n1 x n0 matrix `w` (no transpose is formed): the left
/// singular vectors (n0 x min(n0, n1), columns) and the singular values
/// (nonincreasing). Falls back to nalgebra if faer's iteration does not converge.
pub(crate) fn svd_of_transpose(w: &DMatrix<f64>) -> (DMatrix<f64>, DVector<f64>) {
    sequential();
    match view(w, Op::T).thin_svd() {
        Ok(svd) => {
            let (u, s) = (svd.U(), svd.S().column_vector());
            (
                DMatrix::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)]),
                DVector::from_fn(s.nrows(), |i, _| s[i]),
            )
        }
        Err(_) => {
            let svd = w.transpose().svd(true, false);
            (svd.u.expect("computed"), svd.singular_values)
        }
    }
}

/// out = a b^T for a product known to be symmetric (a b^T = b a^T, e.g. W W^T or
/// W C W^T with C symmetric): only the lower triangle is computed (half the work of
/// [`gemm`]) and mirrored, so `out` is exactly symmetric.
pub(crate) fn symmetric_product(out: &mut DMatrix<f64>, a: &DMatrix<f64>, b: &DMatrix<f64>) {
    let (n, m) = out.shape();
    let o = BlockMut {
        data: out.as_mut_slice(),
        rows: n,
        cols: m,
        stride: n,
    };
    symmetric_block(o, Block::of(a), Block::of(b));
}

/// [`symmetric_product`] on blocks of slices.
pub(crate) fn symmetric_block(out: BlockMut, a: Block, b: Block) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri};
    let (n, stride) = (out.rows, out.stride);
    let o = MatMut::from_column_major_slice_with_stride_mut(out.data, n, out.cols, stride);
    tri(
        o,
        BlockStructure::TriangularLower,
        Accum::Replace,
        a.view(Op::N),
        BlockStructure::Rectangular,
        b.view(Op::T),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
    for j in 0..n {
        for i in 0..j {
            out.data[i + j * stride] = out.data[j + i * stride];
        }
    }
}

/// A column-major block of a slice: `rows` x `cols`, columns `stride` apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    pub data: &'a [f64],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl<'a> Block<'a> {
    /// The whole of `m`.
    pub(crate) fn of(m: &'a DMatrix<f64>) -> Self {
        Block {
            data: m.as_slice(),
            rows: m.nrows(),
            cols: m.ncols(),
            stride: m.nrows(),
        }
    }

    fn view(self, op: Op) -> MatRef<'a, f64> {
        let v = MatRef::from_column_major_slice_with_stride(
            self.data,
            self.rows,
            self.cols,
            self.stride,
        );
        match op {
            Op::N => v,
            Op::T => v.transpose(),
        }
    }
}

/// A mutable column-major block of a slice (see [`Block`]).
#[derive(Debug)]
pub(crate) struct BlockMut<'a> {
    pub data: &'a mut [f64],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

/// [`gemm`] on blocks of slices.
pub(crate) fn gemm_blocks(
    out: BlockMut,
    alpha: f64,
    a: Block,
    ta: Op,
    b: Block,
    tb: Op,
    beta: f64,
) {
    let accum = accum(beta);
    let o =
        MatMut::from_column_major_slice_with_stride_mut(out.data, out.rows, out.cols, out.stride);
    matmul(o, accum, a.view(ta), b.view(tb), alpha, Par::Seq);
}

/// faer's accumulation mode for beta 0 (overwrite) or 1 (add).
fn accum(beta: f64) -> Accum {
    debug_assert!(beta == 0.0 || beta == 1.0, "beta is 0 or 1");
    if beta == 0.0 {
        Accum::Replace
    } else {
        Accum::Add
    }
}

/// Moore-Penrose pseudo-inverse of a symmetric positive semi-definite matrix
/// (eigenvalues below 1e-12 n lambda_max count as zero).
pub fn pseudo_inverse(s: &DMatrix<f64>) -> DMatrix<f64> {
    let n = s.nrows();
    let sym = (s + s.transpose()) * 0.5;
    let eig = sym.symmetric_eigen();
    let cut = 1e-12 * n as f64 * eig.eigenvalues.amax();
    let inv = eig
        .eigenvalues
        .map(|l| if l > cut && l > 0.0 { 1.0 / l } else { 0.0 });
    &eig.eigenvectors * DMatrix::from_diagonal(&inv) * eig.eigenvectors.transpose()
}
