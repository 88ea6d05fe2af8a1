//! Held-sample runs (two-phase, coupled over samples) resume exactly wherever they
//! are cut, including exactly at a block boundary of the sample stream (samples are
//! drawn in blocks of 1024): at every output the state is round-tripped through JSON
//! into a fresh stepper, as `--resume` does, and the rows and the final W must equal
//! the uninterrupted run's bit for bit (same operations in the same order, so no
//! tolerance).
use lmser::executor::{Control, Stepper};
use lmser::experiment::learning::{LearningSpec, LearningState, Simulation};

fn spec(text: &str) -> LearningSpec {
    let cfg = lmser::io::config::Config::parse(text, std::path::Path::new("d.toml")).unwrap();
    LearningSpec::from_config(&cfg).unwrap()
}

const HELD: &str = r#"
name = "h"
kind = "learning"
seed = 1
[network]
layers = [5, 2]
[data]
eigenvalues = [5.0, 3.0, 1.5, 0.8, 0.3]
[learning]
mode = "MODE"
SETTLE
tau = 0.001
tau_w = 100.0
presentation = 0.1
t_end = 300.0
[init]
scale = 0.3
[solver]
output_dt = DT
"#;

/// Runs to the end; at every output whose time is in `cut_at`, round-trips the state
/// through JSON into a fresh stepper (what --resume does) and continues with that one.
fn run(s: &LearningSpec, cut: &dyn Fn(f64) -> bool) -> (Vec<Vec<f64>>, nalgebra::DMatrix<f64>) {
    let c = Control::default();
    let mut sim = Simulation::new(s).unwrap();
    let mut rows = Vec::new();
    while !sim.is_done() {
        sim.advance(&c).unwrap();
        let mut r = Vec::new();
        sim.metrics(&mut r);
        rows.push(r);
        if cut(sim.time()) {
            let json = serde_json::to_string(&sim.state()).unwrap();
            let st: LearningState = serde_json::from_str(&json).unwrap();
            sim = Simulation::new(s).unwrap();
            sim.restore(st).unwrap();
        }
    }
    (rows, sim.weights())
}

fn check(mode: &str, settle: &str, dt: &str, cut: &dyn Fn(f64) -> bool) {
    let s = spec(
        &HELD
            .replace("MODE", mode)
            .replace("SETTLE", settle)
            .replace("DT", dt),
    );
    let (ra, wa) = run(&s, &|_| false);
    let (rb, wb) = run(&s, cut);
    assert_eq!(ra.len(), rb.len());
    let same = ra
        .iter()
        .zip(&rb)
        .all(|(a, b)| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(
        same && wa == wb,
        "{mode}: resumed run differs; |dW| = {:e}",
        (&wa - &wb).norm()
    );
}

#[test]
fn two_phase_resumes_at_block_boundaries() {
    // output_dt = 1024 presentations: cuts exactly at samples 1024 and 2048.
    check("two-phase", "settle = \"closed-form\"", "102.4", &|_| true);
}
#[test]
fn two_phase_resumes_mid_block() {
    check("two-phase", "settle = \"closed-form\"", "3.7", &|_| true);
}
#[test]
fn coupled_resumes_at_block_boundary() {
    check("coupled", "", "102.4", &|_| true);
}

/// A checkpoint whose state does not fit the run (here one value short, as a
/// corrupted or foreign checkpoint.json would be) is a resume error, never a panic,
/// for every kind of learning state.
#[test]
fn a_state_of_the_wrong_size_is_an_error() {
    let averaged = spec(HELD_AVG);
    let held = spec(
        &HELD
            .replace("MODE", "two-phase")
            .replace("SETTLE", "")
            .replace("DT", "3.7"),
    );
    for s in [&averaged, &held] {
        let mut sim = Simulation::new(s).unwrap();
        sim.advance(&Control::default()).unwrap();
        let mut state = serde_json::to_value(sim.state()).unwrap();
        // Drop the last value of the state vector, wherever the variant keeps it.
        let v = state.as_object_mut().unwrap().values_mut().next().unwrap();
        let key = ["y", "w"]
            .into_iter()
            .find(|k| v.get(*k).is_some())
            .expect("a state vector");
        v[key].as_array_mut().unwrap().pop();
        let st: LearningState = serde_json::from_value(state).unwrap();
        let mut fresh = Simulation::new(s).unwrap();
        match fresh.restore(st) {
            Err(lmser::Error::Resume { message, .. }) => {
                assert!(message.contains("values"), "{message}")
            }
            other => panic!("expected a resume error, got {other:?}"),
        }
    }
}

const HELD_AVG: &str = r#"
name = "a"
kind = "learning"
seed = 1
[network]
layers = [5, 2]
[data]
eigenvalues = [5.0, 3.0, 1.5, 0.8, 0.3]
[learning]
t_end = 10.0
[init]
scale = 0.3
"#;
