//! Learning rules of a K-layer LMSER net at the settled state, averaged over a batch
//! (docs/theory.md §10.3-10.4). With E_0 = X - W_1^T Z_1 and S'_k = s'_k(y_k + u_k)
//! (S'_0 = 1), the slides' rule is
//!
//! dW_k ∝ (S'_k ∘ E_k) Z_{k-1}^T + Z_k (S'_{k-1} ∘ E_{k-1})^T,
//!
//! with E_k = W_k E_{k-1} as printed, or E_k = W_k (S'_{k-1} ∘ E_{k-1}) as derived.
//! The exact rule is -dJ/dW_k of J = 1/2 mean ||x - W_1^T z_1*||^2 through the settled
//! state, by the adjoint of the fixed-point equation z = s(T z + I).

use super::settle::Settled;
use super::{Stack, settle::SettleOptions};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use serde::Deserialize;

/// Which learning rule a multilayer net follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MultiRule {
    /// The slides' learning equations as printed: E_k = W_k E_{k-1}.
    Lmser,
    /// The slides' derivation: E_k = W_k (S'_{k-1} ∘ E_{k-1}).
    LmserDerived,
    /// The exact -dJ/dW through the settled state (implicit differentiation).
    LmserExact,
}

/// An update for every layer and the batch's errors, all means over the batch.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// dW_k at index k-1.
    pub dw: Vec<DMatrix<f64>>,
    /// J = mean over samples of 1/2 ||x - u_0||^2.
    pub j: f64,
}

/// J = mean over the batch of 1/2 ||x - W_1^T z_1||^2.
pub fn reconstruction_error(w: &[DMatrix<f64>], settled: &Settled) -> f64 {
    let e0 = error0(w, settled);
    0.5 * e0.norm_squared() / e0.ncols() as f64
}

fn error0(w: &[DMatrix<f64>], settled: &Settled) -> DMatrix<f64> {
    &settled.z[0] - settled.reconstruction(w)
}

/// The supervised error t - z_K on the first rows of the top layer (zero elsewhere).
fn top_error(settled: &Settled, target: &DMatrix<f64>) -> DMatrix<f64> {
    let top = settled.top();
    let mut e = DMatrix::zeros(top.nrows(), top.ncols());
    let c = target.nrows();
    e.rows_mut(0, c).copy_from(&(target - top.rows(0, c)));
    e
}

/// The update of `rule` at the settled batch. `target` (c x B, c <= n_K) pushes the
/// top layer's first c units toward it (supervised LMSER): it adds 1/2 ||t - z_K||^2
/// to the error the update descends.
pub fn update(
    rule: MultiRule,
    stack: &Stack,
    w: &[DMatrix<f64>],
    settled: &Settled,
    target: Option<&DMatrix<f64>>,
) -> Result<Gradients> {
    let dw = match rule {
        MultiRule::Lmser | MultiRule::LmserDerived => slides(rule, w, settled, target),
        MultiRule::LmserExact => exact(stack, w, settled, target)?,
    };
    Ok(Gradients {
        dw,
        j: reconstruction_error(w, settled),
    })
}

/// The slides' rule (printed or derived reading).
fn slides(
    rule: MultiRule,
    w: &[DMatrix<f64>],
    s: &Settled,
    target: Option<&DMatrix<f64>>,
) -> Vec<DMatrix<f64>> {
    let depth = w.len();
    let b = s.z[0].ncols() as f64;
    // eps[k] = E_k for k = 0..K; seps[k] = S'_k ∘ E_k (S'_0 = 1).
    let mut eps = vec![error0(w, s)];
    for k in 1..=depth {
        let below = match rule {
            MultiRule::LmserDerived if k >= 2 => s.ds[k - 2].component_mul(&eps[k - 1]),
            _ => eps[k - 1].clone(),
        };
        eps.push(&w[k - 1] * below);
    }
    if let Some(t) = target {
        eps[depth] += top_error(s, t);
    }
    let seps = |k: usize| -> DMatrix<f64> {
        if k == 0 {
            eps[0].clone()
        } else {
            s.ds[k - 1].component_mul(&eps[k])
        }
    };
    (1..=depth)
        .map(|k| {
            let mut dw = seps(k) * s.z[k - 1].transpose();
            dw.gemm(1.0, &s.z[k], &seps(k - 1).transpose(), 1.0);
            dw / b
        })
        .collect()
}

/// -dJ/dW_k through the settled state. With F(z, W) = z - s(T z + I) = 0 and
/// g = dJ/dz, the adjoint mu = D lambda, (I - T D) lambda = g, solves
/// mu_k = D_k (g_k + W_k mu_{k-1} + W_{k+1}^T mu_{k+1}) (mu_0 = 0), and
/// dJ/dW_k = mu_k z_{k-1}^T + z_k mu_{k-1}^T - [k = 1] z_1 e_0^T.
fn exact(
    stack: &Stack,
    w: &[DMatrix<f64>],
    s: &Settled,
    target: Option<&DMatrix<f64>>,
) -> Result<Vec<DMatrix<f64>>> {
    let depth = stack.depth();
    let b = s.z[0].ncols() as f64;
    let e0 = error0(w, s);
    let mut g: Vec<DMatrix<f64>> = s.z[1..]
        .iter()
        .map(|z| DMatrix::zeros(z.nrows(), z.ncols()))
        .collect();
    g[0] -= &w[0] * &e0;
    if let Some(t) = target {
        g[depth - 1] -= top_error(s, t);
    }
    let mu = adjoint(w, s, &g, SettleOptions::default())?;
    Ok((1..=depth)
        .map(|k| {
            let mut dw = -(&mu[k - 1] * s.z[k - 1].transpose());
            if k >= 2 {
                dw.gemm(-1.0, &s.z[k], &mu[k - 2].transpose(), 1.0);
            }
            if k == 1 {
                dw.gemm(1.0, &s.z[1], &e0.transpose(), 1.0);
            }
            dw / b
        })
        .collect())
}

/// Block Gauss-Seidel for mu = D (g + T mu): the symmetric form
/// (I - D^1/2 T D^1/2) nu = D^1/2 g, nu = D^-1/2 mu, is positive definite exactly when
/// the settled state is a nondegenerate minimum of the energy (its Hessian D^-1 - T
/// positive definite), so the sweeps converge there.
fn adjoint(
    w: &[DMatrix<f64>],
    s: &Settled,
    g: &[DMatrix<f64>],
    opts: SettleOptions,
) -> Result<Vec<DMatrix<f64>>> {
    let depth = w.len();
    let mut mu: Vec<DMatrix<f64>> = (0..depth).map(|i| s.ds[i].component_mul(&g[i])).collect();
    if depth == 1 {
        return Ok(mu);
    }
    // Sweeps whose move grew: on a matrix that is not positive definite the moves
    // grow geometrically, so 50 growing sweeps in a row end the iteration early.
    let (mut last, mut growing) = (f64::INFINITY, 0);
    for sweep in 1..=opts.max_sweeps {
        let mut moved = 0.0f64;
        for k in 1..=depth {
            let mut r = g[k - 1].clone();
            if k >= 2 {
                r.gemm(1.0, &w[k - 1], &mu[k - 2], 1.0);
            }
            if k < depth {
                r.gemm_tr(1.0, &w[k], &mu[k], 1.0);
            }
            let new = s.ds[k - 1].component_mul(&r);
            moved = moved.max((&new - &mu[k - 1]).amax());
            mu[k - 1] = new;
        }
        let scale = mu
            .iter()
            .map(|m| m.amax())
            .fold(f64::MIN_POSITIVE, f64::max);
        growing = if moved > last { growing + 1 } else { 0 };
        last = moved;
        if !moved.is_finite() || growing >= 50 {
            break;
        }
        if moved <= opts.tol * scale.max(1.0) {
            return Ok(mu);
        }
        if sweep == opts.max_sweeps {
            break;
        }
    }
    Err(Error::SolverFailed {
        time: 0.0,
        reason: "the adjoint of the settled state did not converge".into(),
        hint: "the settled state is not a nondegenerate minimum of the energy (D^-1 - T not positive definite); use smaller weights or the slides' rule".into(),
    })
}

/// Cosine between two updates over all layers' entries together.
pub fn cosine(a: &[DMatrix<f64>], b: &[DMatrix<f64>]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x.dot(y)).sum();
    let na: f64 = a.iter().map(|x| x.norm_squared()).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x.norm_squared()).sum::<f64>().sqrt();
    dot / (na * nb)
}
