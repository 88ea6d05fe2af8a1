//! The stiff fallback: an explicit method that stops with "stiffness detected"
//! continues from the last output with the fallback method (BDF for automatic
//! choices, Rodas4 or BDF here; [`Driver::set_stiff_fallback`]), the switch is
//! recorded (in the resume point and in summary.json's solver report), and a
//! learning run whose method was chosen automatically uses it.

use lmser::Error;
use lmser::executor::Metrics;
use lmser::experiment::learning::{LearningSpec, simulate};
use lmser::solver::{Driver, Method, OdeSystem, STIFFNESS_DETECTED, SolverOptions};

/// A system that becomes stiff: Prothero-Robinson y' = -lambda(t) (y - cos t) - sin t
/// with lambda(t) = 10^t, y(0) = 1, solution y = cos t for every lambda. Over
/// [0, 6] lambda grows from 1 to 1e6; Dopri5's step is held to ~3.3 / lambda, so an
/// output interval of length 1 takes more than its stiffness test's 1000 steps once
/// lambda passes ~3e3 (t ~ 3.5), where the test fires.
struct Stiffening;

impl OdeSystem for Stiffening {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = -(10f64.powf(t)) * (y[0] - t.cos()) - t.sin();
    }
}

fn options() -> SolverOptions {
    SolverOptions::new(Method::Dopri5, 6.0)
        .output_dt(1.0)
        .rtol(1e-8)
        .atol(1e-10)
}

/// Every output (t, y) of a run.
type Outputs = Vec<(f64, f64)>;

/// Runs to the end; returns the driver and every output.
fn run(fallback: Option<Method>) -> lmser::Result<(Driver<Stiffening>, Outputs)> {
    let mut d = Driver::new(Stiffening, 0.0, &[1.0], &options())?;
    if let Some(m) = fallback {
        d.set_stiff_fallback(m);
    }
    let mut seen = vec![(d.t(), d.y()[0])];
    while d.advance()? {
        seen.push((d.t(), d.y()[0]));
    }
    Ok((d, seen))
}

/// Without a fallback Dopri5 stops with "stiffness detected" (the failure the
/// fallback is for); with it (Rodas4 or BDF) the run reaches t = 6 through the
/// fallback, every output within the harness's bound 100 (rtol |y| + atol) of cos t
/// (tests/integrators.rs module docs), and the switch names both methods and an
/// output time.
#[test]
fn dopri5_switches_to_the_fallback_when_the_system_becomes_stiff() {
    match run(None) {
        Err(Error::SolverFailed { reason, time, .. }) => {
            assert_eq!(reason, STIFFNESS_DETECTED);
            assert!(time > 1.0 && time < 6.0, "stopped at {time}");
        }
        other => panic!(
            "Dopri5 alone: expected stiffness, got {:?}",
            other.map(|r| r.1)
        ),
    }
    for to in [Method::Rodas4, Method::Bdf] {
        let (d, seen) = run(Some(to)).expect("the fallback finishes");
        assert_eq!(seen.len(), 7, "outputs at 0, 1, ..., 6");
        for (t, y) in &seen {
            let bound = 100.0 * (1e-8 * t.cos().abs() + 1e-10);
            assert!(
                (y - t.cos()).abs() <= bound,
                "{to:?}: y({t}) = {y}, cos t = {}",
                t.cos()
            );
        }
        let s = d.switches();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            (s[0].from.as_str(), s[0].to.as_str()),
            ("dopri5", to.name())
        );
        assert!(
            s[0].t.fract() == 0.0 && s[0].t >= 1.0,
            "switched at {}",
            s[0].t
        );
        assert!(s[0].reason.contains("stiffness"), "{}", s[0].reason);
        assert_eq!(d.method(), to);
        let stats = d.stats();
        assert!(
            stats.jacobians > 0 && stats.accepted_steps > 1000,
            "{stats:?}"
        );
    }
}

/// A resume point taken after the switch continues with Rodas4, bit for bit as the
/// uninterrupted run.
#[test]
fn a_resumed_run_keeps_the_switched_method() {
    let (whole, seen) = run(Some(Method::Rodas4)).unwrap();
    let switched_at = whole.switches()[0].t;
    let mut d = Driver::new(Stiffening, 0.0, &[1.0], &options()).unwrap();
    d.set_stiff_fallback(Method::Rodas4);
    while d.t() < switched_at + 1.0 {
        d.advance().unwrap();
    }
    let point = d.resume_point();
    assert_eq!(point.switches.len(), 1);
    let mut r = Driver::resume(Stiffening, &point, &options()).unwrap();
    assert_eq!(r.method(), Method::Rodas4);
    let mut rest = Vec::new();
    while r.advance().unwrap() {
        rest.push((r.t(), r.y()[0]));
    }
    let tail: Vec<_> = seen.iter().filter(|(t, _)| *t > point.t).copied().collect();
    assert_eq!(rest, tail);
}

/// A coupled averaged learning run (tau_w / tau = 50) of dimension 2 x 8 x 7 = 112,
/// below the ratio of 100 from which IMEX is chosen, so the automatic choice is
/// Dopri5: with outputs every 5000 tau each output interval takes over 1000
/// stability-limited steps, Dopri5 detects stiffness, and the run finishes with
/// BDF; summary.json's report records the switch. The same run with
/// `method = "dopri5"` named in the config still fails with the stiffness error (a
/// named method is never replaced), and the switched run's weights agree with a run
/// that names rodas4 to 100 (rtol |W| + atol). At tau_w / tau = 1000 the automatic
/// choice is IMEX, which needs no switch.
#[test]
fn an_automatic_coupled_run_switches_and_reports_it() {
    let config_at = |tau_w: f64, method: &str| {
        format!(
            r#"
name = "switch"
kind = "learning"
seed = 5
[network]
layers = [8, 7]
[data]
eigenvalues = [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
[learning]
rule = "lmser"
mode = "coupled"
input = "averaged"
tau = 0.01
tau_w = {tau_w:?}
t_end = 100.0
[init]
scale = 0.3
[solver]
{method}
rtol = 1e-6
atol = 1e-9
output_dt = 50.0
"#
        )
    };
    let spec_at = |tau_w: f64, m: &str| {
        let text = config_at(tau_w, m);
        let cfg = lmser::io::config::Config::parse(&text, std::path::Path::new("s.toml")).unwrap();
        LearningSpec::from_config(&cfg).unwrap()
    };
    let spec = |m: &str| spec_at(0.5, m);
    let quiet = &mut |_: &Metrics| Ok(());
    let (_, stiff) = simulate(&spec_at(10.0, ""), quiet).expect("the imex run finishes");
    assert_eq!(stiff.method, "imex");
    assert!(stiff.switches.is_empty(), "{stiff:?}");
    let (w, report) = simulate(&spec(""), quiet).expect("the automatic run finishes");
    assert_eq!(report.method, "dopri5");
    assert_eq!(report.switches.len(), 1, "{report:?}");
    assert_eq!(report.switches[0].to, "bdf");
    assert!(report.jacobians.is_some_and(|j| j > 0));
    let json = serde_json::to_string(&report).unwrap();
    println!("{json}");
    assert!(
        json.contains("\"switches\"") && json.contains("stiffness"),
        "{json}"
    );
    match simulate(&spec("method = \"dopri5\""), quiet) {
        Err(Error::SolverFailed { reason, .. }) => assert_eq!(reason, STIFFNESS_DETECTED),
        other => panic!(
            "named dopri5: expected stiffness, got {:?}",
            other.map(|r| r.1)
        ),
    }
    let (w_ref, _) = simulate(&spec("method = \"rodas4\""), quiet).unwrap();
    for (a, b) in w.iter().zip(w_ref.iter()) {
        assert!(
            (a - b).abs() <= 100.0 * (1e-6 * b.abs() + 1e-9),
            "{a} vs {b}"
        );
    }
}
