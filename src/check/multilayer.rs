//! Multilayer LMSER at the settled state (docs/theory.md §10): the exact rule
//! (`lmser-exact`) against central differences of J through the re-settled state, and
//! the slides' printed rule against that exact gradient over random nets and data.

use super::search::{Budget, Local, minimise};
use super::{CheckRow, Verdict, row};
use crate::data;
use crate::dynamics::multilayer::{
    MultiRule, SettleOptions, Settled, Stack, cosine, reconstruction_error, settle, update,
};
use crate::error::Result;
use crate::model::activation::Activation;
use nalgebra::DMatrix;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A multilayer problem: the units, the weights (`w[k-1]` is W_k), a batch (one
/// sample per column) and an optional supervised target for the top layer's first
/// rows.
#[derive(Debug, Clone)]
pub struct Net {
    /// Activations of layers 1..K.
    pub stack: Stack,
    /// W_1..W_K.
    pub w: Vec<DMatrix<f64>>,
    /// The batch, n_0 x B.
    pub x: DMatrix<f64>,
    /// Target of the top layer's first c units (c x B), if supervised.
    pub target: Option<DMatrix<f64>>,
}

impl Net {
    /// Layer sizes n_0..n_K.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.x.nrows()];
        s.extend(self.w.iter().map(|w| w.nrows()));
        s
    }

    /// Number of weights.
    pub fn weights(&self) -> usize {
        self.w.iter().map(|w| w.len()).sum()
    }

    /// The same problem with other weights.
    fn with_weights(&self, w: Vec<DMatrix<f64>>) -> Net {
        Net { w, ..self.clone() }
    }

    /// The settled batch, to 1e-15.
    pub fn settle(&self) -> Result<Settled> {
        settle(&self.stack, &self.w, &self.x, tight())
    }

    /// The update of `rule` at the settled batch.
    pub fn update(&self, rule: MultiRule) -> Result<Vec<DMatrix<f64>>> {
        let s = self.settle()?;
        Ok(update(rule, &self.stack, &self.w, &s, self.target.as_ref())?.dw)
    }

    /// The error every rule descends: J = 1/2 mean ||x - W_1^T z_1*||^2, plus
    /// 1/2 mean ||t - z_K*||^2 on the target rows when supervised; z* settled to 1e-15.
    pub fn objective(&self) -> Result<f64> {
        let s = self.settle()?;
        let mut j = reconstruction_error(&self.w, &s);
        if let Some(t) = &self.target {
            let top = s.top().rows(0, t.nrows()).into_owned();
            j += 0.5 * (t - top).norm_squared() / self.x.ncols() as f64;
        }
        Ok(j)
    }
}

/// Settling to 1e-15: the finite differences below divide J's differences by 2h.
fn tight() -> SettleOptions {
    SettleOptions {
        tol: 1e-15,
        ..SettleOptions::default()
    }
}

/// A random net: W_k entries uniform in +-scale / sqrt(n_{k-1}), inputs uniform in
/// [0, 1], `batch` samples.
pub fn random_net(
    stack: Stack,
    sizes: &[usize],
    scale: f64,
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> Net {
    let w = sizes
        .windows(2)
        .map(|p| {
            let a = scale / (p[0] as f64).sqrt();
            DMatrix::from_fn(p[1], p[0], |_, _| a * (2.0 * rng.random::<f64>() - 1.0))
        })
        .collect();
    let x = DMatrix::from_fn(sizes[0], batch, |_, _| rng.random::<f64>());
    Net {
        stack,
        w,
        x,
        target: None,
    }
}

/// The largest relative error `grad` may have against the finite differences. The
/// central difference with h = 1e-5 has truncation error ~h^2 |J'''| ~ 1e-10 and
/// rounding ~eps |J| / h ~ 1e-11 (eps = 2.2e-16, J of order 1; z* is settled to 1e-15,
/// below that), against gradients of norm ~1e-2..1: the relative error is ~1e-8 at
/// most, and a missing or wrong term of the adjoint is of relative size ~1e-2 or more.
pub const GRADIENT_BOUND: f64 = 1e-6;

/// ||grad - (-dJ/dW by central differences)|| / ||dJ/dW|| over all layers' entries
/// together (J through the re-settled state, step h = 1e-5 per weight).
pub fn gradient_error(net: &Net, grad: &dyn Fn(&Net) -> Result<Vec<DMatrix<f64>>>) -> Result<f64> {
    let h = 1e-5;
    let g = grad(net)?;
    let (mut diff, mut size) = (0.0, 0.0);
    for k in 0..net.w.len() {
        for idx in 0..net.w[k].len() {
            let at = |d: f64| {
                let mut w = net.w.clone();
                w[k][idx] += d;
                net.with_weights(w).objective()
            };
            let fd = -(at(h)? - at(-h)?) / (2.0 * h);
            diff += (g[k][idx] - fd).powi(2);
            size += fd * fd;
        }
    }
    Ok(diff.sqrt() / size.sqrt())
}

/// The nets of `multilayer-exact-gradient`: K = 2 and 3; logistic, tanh and mixed
/// layers; unsupervised and supervised; weight scale 1.5, 5 samples.
pub fn gradient_nets() -> Vec<Net> {
    let tanh = Activation::Tanh { beta: 1.0 };
    let mixed = Stack {
        activations: vec![Activation::Logistic, Activation::Tanh { beta: 0.7 }],
    };
    let cases: Vec<(Stack, Vec<usize>, bool)> = vec![
        (
            Stack::uniform(Activation::Logistic, 2),
            vec![6, 4, 3],
            false,
        ),
        (Stack::uniform(tanh.clone(), 3), vec![5, 4, 3, 2], false),
        (mixed, vec![6, 5, 3], false),
        (Stack::uniform(Activation::Logistic, 2), vec![6, 4, 3], true),
        (
            Stack {
                activations: vec![tanh, Activation::Logistic, Activation::Logistic],
            },
            vec![5, 4, 4, 3],
            true,
        ),
    ];
    let mut rng = data::rng(30, 1);
    cases
        .into_iter()
        .map(|(stack, sizes, supervised)| {
            let mut net = random_net(stack, &sizes, 1.5, 5, &mut rng);
            if supervised {
                net.target = Some(DMatrix::from_fn(2, 5, |i, j| ((i + j) % 2) as f64));
            }
            net
        })
        .collect()
}

/// `multilayer-exact-gradient`: the exact rule against central differences of J on
/// [`gradient_nets`]; `grad` is the rule under test (the check passes
/// [`MultiRule::LmserExact`]).
pub fn exact_gradient_row(grad: &dyn Fn(&Net) -> Result<Vec<DMatrix<f64>>>) -> CheckRow {
    let nets = gradient_nets();
    let errors: Vec<f64> = nets
        .iter()
        .map(|n| gradient_error(n, grad).unwrap_or(f64::INFINITY))
        .map(|e| if e.is_nan() { f64::INFINITY } else { e })
        .collect();
    let worst = errors.iter().copied().fold(0.0, f64::max);
    row(
        "multilayer-exact-gradient",
        "lmser-exact is -dJ/dW through the settled state (adjoint of z = s(T z + I))",
        format!(
            "||dW_exact + dJ/dW|| / ||dJ/dW||, dJ/dW by central differences (h = 1e-5, z* settled again to 1e-15), over {} nets (K = 2 and 3; logistic, tanh, mixed; 2 supervised): {} (bound {GRADIENT_BOUND:e}: truncation ~h^2, rounding ~eps/h)",
            nets.len(),
            errors
                .iter()
                .map(|e| format!("{e:.1e}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        if worst < GRADIENT_BOUND {
            Verdict::Holds
        } else {
            Verdict::Fails
        },
        true,
    )
    .key("max rel. gradient error", worst, Some(GRADIENT_BOUND))
}

/// The slides' printed rule against the exact gradient over random nets.
#[derive(Debug, Clone, Default)]
pub struct RuleSample {
    /// cos(printed rule, exact) per net that settled.
    pub cos: Vec<f64>,
    /// cos(derived reading, exact) per net that settled.
    pub cos_derived: Vec<f64>,
    /// Whether J fell under a step W + h dW_printed, h = 1e-4 ||W|| / ||dW_printed||.
    pub fell: Vec<bool>,
    /// Nets whose settled state or adjoint failed (not a strict minimum of E).
    pub skipped: usize,
    /// The net of the smallest cos.
    pub worst: Option<Net>,
}

impl RuleSample {
    /// (min, median, max) of the printed rule's cosines.
    pub fn quantiles(&self) -> (f64, f64, f64) {
        quantiles(&self.cos)
    }
}

fn quantiles(v: &[f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    };
    (s[0], median, s[n - 1])
}

/// The cosines of one net: (printed, derived), exact gradient and printed update.
fn cosines(net: &Net, opts: SettleOptions) -> Result<(f64, f64, Vec<DMatrix<f64>>)> {
    let s = settle(&net.stack, &net.w, &net.x, opts)?;
    let t = net.target.as_ref();
    let exact = update(MultiRule::LmserExact, &net.stack, &net.w, &s, t)?.dw;
    let printed = update(MultiRule::Lmser, &net.stack, &net.w, &s, t)?.dw;
    let derived = update(MultiRule::LmserDerived, &net.stack, &net.w, &s, t)?.dw;
    Ok((cosine(&printed, &exact), cosine(&derived, &exact), printed))
}

/// `nets` random nets: depth 2-3, layer sizes 4-12, logistic or tanh (all layers
/// alike), weight scale uniform in [0.5, 3], 20 samples in [0, 1]; unsupervised.
pub fn sample_slides(nets: usize) -> RuleSample {
    let mut out = RuleSample::default();
    let mut rng = data::rng(31, 1);
    let mut worst = f64::INFINITY;
    for _ in 0..nets {
        let depth = rng.random_range(2..=3usize);
        let sizes: Vec<usize> = (0..=depth).map(|_| rng.random_range(4..=12)).collect();
        let act = if rng.random::<bool>() {
            Activation::Logistic
        } else {
            Activation::Tanh { beta: 1.0 }
        };
        let scale = rng.random_range(0.5..=3.0);
        let net = random_net(Stack::uniform(act, depth), &sizes, scale, 20, &mut rng);
        let Ok((c, cd, printed)) = cosines(&net, tight()) else {
            out.skipped += 1;
            continue;
        };
        let fell = falls_along(&net, &printed);
        out.cos.push(c);
        out.cos_derived.push(cd);
        out.fell.push(fell);
        if c < worst {
            worst = c;
            out.worst = Some(net);
        }
    }
    out
}

/// A search for a net where the printed rule points uphill.
#[derive(Debug, Clone)]
pub struct Uphill {
    /// The smallest cos(printed, exact) met.
    pub cos: f64,
    /// The net where it was met.
    pub net: Net,
    /// The same cosine with the directional derivative of J along the printed update
    /// taken by central differences (step 1e-6 ||W||) instead of the adjoint.
    pub cos_fd: f64,
    /// Objective evaluations spent.
    pub evals: u64,
}

impl Uphill {
    /// The printed rule points uphill here by both the adjoint and finite differences.
    pub fn confirmed(&self) -> bool {
        self.cos < 0.0 && self.cos_fd < 0.0
    }
}

/// Whether J falls under W + h dW, h = 1e-4 ||W|| / ||dW||: J falls iff dW is a descent
/// direction (cos(dW, -dJ/dW) > 0), up to O(h^2) when the cosine is near 0.
fn falls_along(net: &Net, dw: &[DMatrix<f64>]) -> bool {
    let wn = net.w.iter().map(|w| w.norm_squared()).sum::<f64>().sqrt();
    let dn = dw.iter().map(|d| d.norm_squared()).sum::<f64>().sqrt();
    let h = 1e-4 * wn / dn;
    let stepped: Vec<DMatrix<f64>> = net.w.iter().zip(dw).map(|(w, d)| w + d * h).collect();
    match (net.objective(), net.with_weights(stepped).objective()) {
        (Ok(j0), Ok(j1)) => j1 < j0,
        _ => false,
    }
}

/// Search for a net where the printed rule points uphill: Nelder-Mead on all weights
/// of `start` (data and units fixed), minimising cos(printed, exact).
pub fn search_uphill(start: &Net, iters: u64) -> Uphill {
    let shapes: Vec<(usize, usize)> = start.w.iter().map(|w| w.shape()).collect();
    let decode = |x: &[f64]| -> Vec<DMatrix<f64>> {
        let mut at = 0;
        shapes
            .iter()
            .map(|&(r, c)| {
                let m = DMatrix::from_column_slice(r, c, &x[at..at + r * c]);
                at += r * c;
                m
            })
            .collect()
    };
    // Settling capped at 5000 sweeps: a net near a fold of the settled state (where the
    // sweeps crawl) counts as a failed evaluation instead of stalling the search.
    let capped = SettleOptions {
        max_sweeps: 5000,
        ..tight()
    };
    let f = |x: &[f64]| -> f64 {
        cosines(&start.with_weights(decode(x)), capped)
            .map(|c| c.0)
            .unwrap_or(f64::NAN)
    };
    let x0: Vec<f64> = start.w.iter().flat_map(|w| w.iter().copied()).collect();
    let step = 0.3 * x0.iter().map(|v| v.abs()).sum::<f64>() / x0.len() as f64;
    let found = minimise(
        &f,
        &[x0],
        Budget {
            local: Local::NelderMead,
            iters,
            step,
        },
    );
    let net = start.with_weights(decode(&found.x));
    let cos_fd = match (
        net.update(MultiRule::Lmser),
        net.update(MultiRule::LmserExact),
    ) {
        (Ok(d), Ok(g)) => directional_cosine(&net, &d, &g).unwrap_or(f64::NAN),
        _ => f64::NAN,
    };
    Uphill {
        cos: found.value,
        net,
        cos_fd,
        evals: found.evals,
    }
}

/// cos(d, -dJ/dW) with <dJ/dW, d> by a central difference of J along d and
/// ||dJ/dW|| = ||g||. The step is 1e-6 ||W|| / ||d||, small because the search ends
/// near folds of the settled state, where J is sharply curved (the O(h^2) error of a
/// larger step swamps the slope there); rounding adds ~eps |J| / h ~ 1e-10.
fn directional_cosine(net: &Net, d: &[DMatrix<f64>], g: &[DMatrix<f64>]) -> Result<f64> {
    let norm = |m: &[DMatrix<f64>]| m.iter().map(|x| x.norm_squared()).sum::<f64>().sqrt();
    let h = 1e-6 * norm(&net.w) / norm(d);
    let at = |s: f64| {
        let w: Vec<DMatrix<f64>> = net.w.iter().zip(d).map(|(w, d)| w + d * (s * h)).collect();
        net.with_weights(w).objective()
    };
    let slope = (at(1.0)? - at(-1.0)?) / (2.0 * h);
    Ok(-slope / (norm(d) * norm(g)))
}

/// `slides-rule-vs-gradient`: the distribution of cos(printed rule, exact gradient),
/// whether J fell under a small printed step, and the search for an uphill net.
pub fn slides_row(sample: &RuleSample, search: Option<&Uphill>) -> CheckRow {
    let (lo, med, hi) = sample.quantiles();
    let (dlo, dmed, dhi) = quantiles(&sample.cos_derived);
    let n = sample.cos.len();
    let positive = sample.cos.iter().filter(|&&c| c > 0.0).count();
    let fell_of_positive = sample
        .cos
        .iter()
        .zip(&sample.fell)
        .filter(|(c, f)| **c > 0.0 && **f)
        .count();
    let rose_of_negative = sample
        .cos
        .iter()
        .zip(&sample.fell)
        .filter(|(c, f)| **c <= 0.0 && !**f)
        .count();
    let searched = match search {
        Some(u) => format!(
            "; Nelder-Mead on the weights of the worst net ({} evaluations): smallest cos {:.4} (sizes {:?}, {} units; by central differences of J along the printed update {:.4}): {}",
            u.evals,
            u.cos,
            u.net.sizes(),
            u.net.stack.activations[0].name(),
            u.cos_fd,
            if u.confirmed() {
                "an uphill net, confirmed without the adjoint (W_k and X in uphill_w*.csv, uphill_x.csv)"
            } else if u.cos < 0.0 {
                "not confirmed by the finite differences"
            } else {
                "no uphill net found"
            }
        ),
        None => String::new(),
    };
    let smallest = search
        .filter(|u| u.confirmed())
        .map_or(lo, |u| lo.min(u.cos));
    let measured = format!(
        "cos_exact = cos(printed dW, exact -dJ/dW) over {n} random nets (depth 2-3, sizes 4-12, logistic/tanh, scales 0.5-3, 20 samples in [0,1]; {} skipped: no strict minimum): min {lo:.4}, median {med:.4}, max {hi:.4}; cos > 0 for {positive}/{n} ({:.1}%); J fell under W + h dW (h = 1e-4 ||W||/||dW||) in {fell_of_positive}/{positive} of those, and did not fall in {rose_of_negative}/{} with cos <= 0; derived reading: min {dlo:.4}, median {dmed:.4}, max {dhi:.4}{searched}",
        sample.skipped,
        100.0 * positive as f64 / n.max(1) as f64,
        n - positive,
    );
    row(
        "slides-rule-vs-gradient",
        "the multilayer rule as printed descends J (approximates gradient descent)",
        measured,
        if n > 0 && smallest > 0.0 && fell_of_positive == positive {
            Verdict::Holds
        } else {
            Verdict::Fails
        },
        false,
    )
    .key("min cos_exact", smallest, Some(0.0))
}

/// Both rows: the exact gradient, then the printed rule against it (200 nets and a
/// search from the worst one). Also returns the search's net when it is a confirmed
/// uphill net (written to the check's output directory by [`write_uphill`]).
pub fn multilayer_rows() -> (Vec<CheckRow>, Option<Net>) {
    let exact = exact_gradient_row(&|n: &Net| n.update(MultiRule::LmserExact));
    let sample = sample_slides(200);
    let search = sample.worst.as_ref().map(|w| search_uphill(w, 300));
    let row = slides_row(&sample, search.as_ref());
    let uphill = search.filter(|u| u.confirmed()).map(|u| u.net);
    (vec![exact, row], uphill)
}

/// The uphill net as CSV matrices: `uphill_w1.csv` .. `uphill_wK.csv` (W_k, n_k x
/// n_{k-1}) and `uphill_x.csv` (the batch, one sample per column).
pub fn write_uphill(dir: &crate::io::output::RunDir, net: &Net) -> Result<()> {
    for (k, w) in net.w.iter().enumerate() {
        super::sign_search::write_matrix(&dir.file(&format!("uphill_w{}.csv", k + 1)), w)?;
    }
    super::sign_search::write_matrix(&dir.file("uphill_x.csv"), &net.x)
}

#[cfg(test)]
#[path = "multilayer_tests.rs"]
mod tests;
