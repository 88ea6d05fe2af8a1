//! Unit activations s(v) with s', s^-1 and the energy integral
//! int_0^z s^-1(v) dv in closed form (Xu 1993, eqn 3; docs/theory.md §1.2).

/// The activation of one layer's units.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// s(v) = v.
    Linear,
    /// s(v) = 1 / (1 + e^-v), range (0, 1).
    Logistic,
    /// s(v) = tanh(beta v), range (-1, 1).
    Tanh {
        /// The gain beta > 0: s'(0) = beta, s^-1(z) = atanh(z) / beta.
        beta: f64,
    },
    /// Amplified linear unit j: s_j(v) = a_j v with gains a_1 > ... > a_n > 0.
    Amplified {
        /// a_j for unit j of the layer, one per unit, strictly decreasing and > 0.
        gains: Vec<f64>,
    },
}

impl Activation {
    /// Short name used in configs and summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Logistic => "logistic",
            Activation::Tanh { .. } => "tanh",
            Activation::Amplified { .. } => "amplified",
        }
    }

    /// True for activations that are linear in v (linear, amplified).
    pub fn is_linear(&self) -> bool {
        matches!(self, Activation::Linear | Activation::Amplified { .. })
    }

    /// Gain of unit j for amplified units, 1 otherwise.
    fn gain(&self, j: usize) -> f64 {
        match self {
            Activation::Amplified { gains } => gains[j],
            _ => 1.0,
        }
    }

    /// s_j(v).
    pub fn s(&self, j: usize, v: f64) -> f64 {
        match self {
            Activation::Linear => v,
            Activation::Logistic => logistic(v),
            Activation::Tanh { beta } => (beta * v).tanh(),
            Activation::Amplified { .. } => self.gain(j) * v,
        }
    }

    /// s_j'(v).
    pub fn ds(&self, j: usize, v: f64) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Logistic => {
                let s = logistic(v);
                s * (1.0 - s)
            }
            Activation::Tanh { beta } => {
                let t = (beta * v).tanh();
                beta * (1.0 - t * t)
            }
            Activation::Amplified { .. } => self.gain(j),
        }
    }

    /// s_j^-1(z). At the ends of a bounded range (reached only by floating-point
    /// saturation) it is evaluated at the nearest representable interior point, so it
    /// stays finite (|logit| <= 709, |atanh| <= 19).
    pub fn inverse(&self, j: usize, z: f64) -> f64 {
        const EDGE: f64 = f64::EPSILON / 2.0;
        match self {
            Activation::Linear => z,
            Activation::Logistic => {
                let z = z.clamp(f64::MIN_POSITIVE, 1.0 - EDGE);
                (z / (1.0 - z)).ln()
            }
            Activation::Tanh { beta } => z.clamp(-1.0 + EDGE, 1.0 - EDGE).atanh() / beta,
            Activation::Amplified { .. } => z / self.gain(j),
        }
    }

    /// int_0^z s_j^-1(v) dv:
    /// linear z^2/2; logistic z ln z + (1-z) ln(1-z); tanh (z atanh z + ln(1-z^2)/2)/beta;
    /// amplified z^2/(2 a_j). Infinite outside the range of s.
    pub fn energy_integral(&self, j: usize, z: f64) -> f64 {
        match self {
            Activation::Linear => 0.5 * z * z,
            Activation::Logistic => {
                if !(0.0..=1.0).contains(&z) {
                    return f64::INFINITY;
                }
                xlnx(z) + xlnx(1.0 - z)
            }
            Activation::Tanh { beta } => {
                let a = z.abs();
                if a > 1.0 {
                    f64::INFINITY
                } else if a == 1.0 {
                    std::f64::consts::LN_2 / beta
                } else {
                    // = ((1+a) ln(1+a) + (1-a) ln(1-a)) / 2, without the cancellation
                    // of a atanh a against ln(1-a^2) near |z| = 1.
                    0.5 * ((1.0 + a) * a.ln_1p() + (1.0 - a) * (-a).ln_1p()) / beta
                }
            }
            Activation::Amplified { .. } => 0.5 * z * z / self.gain(j),
        }
    }

    /// The open range of s (where initial states must lie), as (low, high).
    pub fn range(&self) -> (f64, f64) {
        match self {
            Activation::Logistic => (0.0, 1.0),
            Activation::Tanh { .. } => (-1.0, 1.0),
            _ => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }
}

/// Numerically safe logistic function.
pub fn logistic(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// x ln x with the limit 0 at x = 0.
fn xlnx(x: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * x.ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Activation> {
        vec![
            Activation::Linear,
            Activation::Logistic,
            Activation::Tanh { beta: 1.7 },
            Activation::Amplified {
                gains: vec![2.0, 0.5],
            },
        ]
    }

    /// s(s^-1(z)) = z, and s' and d/dz energy_integral = s^-1 agree with central
    /// differences (h = 1e-5, truncation error O(h^2) ~ 1e-10, so 1e-6 is loose).
    #[test]
    fn inverse_derivative_and_integral_are_consistent() {
        for a in all() {
            for j in 0..2 {
                for &z in &[0.1, 0.3, 0.5, 0.77, 0.9] {
                    let v = a.inverse(j, z);
                    assert!((a.s(j, v) - z).abs() < 1e-12, "{a:?} s(s^-1)");
                    let h = 1e-5;
                    let ds_fd = (a.s(j, v + h) - a.s(j, v - h)) / (2.0 * h);
                    assert!((a.ds(j, v) - ds_fd).abs() < 1e-6, "{a:?} s'");
                    let di_fd =
                        (a.energy_integral(j, z + h) - a.energy_integral(j, z - h)) / (2.0 * h);
                    assert!((di_fd - v).abs() < 1e-6, "{a:?} integral' = s^-1");
                }
            }
            assert_eq!(a.energy_integral(0, 0.0), 0.0);
        }
    }
}
