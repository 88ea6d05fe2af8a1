//! The linear solver of BDF's Newton matrices (src/solver/stiff_lib.rs): faer's
//! blocked LU with partial pivoting (as Rodas4's, src/solver/rosenbrock.rs), single
//! thread. diffsol's own `FaerLU` pivots fully and unblocked: on the 1,024-dimensional
//! coupled run of docs/numerics.md §5.7, 82 % of BDF's time went into its elimination
//! and column swaps (perf).

use diffsol::{FaerContext, FaerMat, FaerVec};
use diffsol_la::error::{LaError, LinearSolverError};
use diffsol_la::{LinearOp, LinearSolver, Matrix, MatrixCommon, Vector};
use faer::linalg::solvers::{PartialPivLu, Solve};

/// The matrix (its storage, shaped by diffsol) and its factors.
#[derive(Default)]
pub(super) struct PartialLu {
    matrix: Option<FaerMat<f64>>,
    lu: Option<PartialPivLu<f64>>,
}

impl PartialLu {
    fn factors(&self) -> Result<&PartialPivLu<f64>, LaError> {
        self.lu
            .as_ref()
            .ok_or(LaError::from(LinearSolverError::LuNotInitialized))
    }
}

impl LinearSolver<FaerMat<f64>> for PartialLu {
    fn set_linearisation<C>(&mut self, op: &C)
    where
        C: LinearOp<T = f64, V = FaerVec<f64>, M = FaerMat<f64>, C = FaerContext>,
    {
        let m = self
            .matrix
            .get_or_insert_with(|| FaerMat::zeros(op.nrows(), op.ncols(), *op.context()));
        op.matrix_inplace(m);
        crate::linalg::sequential();
        self.lu = Some(m.inner().as_ref().partial_piv_lu());
    }

    fn set_sparsity<C>(&mut self, op: &C)
    where
        C: LinearOp<T = f64, V = FaerVec<f64>, M = FaerMat<f64>, C = FaerContext>,
    {
        let m = FaerMat::new_from_sparsity(op.nrows(), op.ncols(), op.sparsity(), *op.context());
        (self.matrix, self.lu) = (Some(m), None);
    }

    fn solve_in_place(&self, b: &mut FaerVec<f64>) -> Result<(), LaError> {
        self.factors()?.solve_in_place(b.inner_mut().as_mut());
        Ok(())
    }

    fn solve_transpose_in_place(&self, b: &mut FaerVec<f64>) -> Result<(), LaError> {
        self.factors()?
            .solve_transpose_in_place(b.inner_mut().as_mut());
        Ok(())
    }
}
