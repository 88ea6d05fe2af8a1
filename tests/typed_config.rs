//! Typed configs: a section another kind uses, or a `[learning]` key another mode uses,
//! is a parse error at its line naming the field; configs that were valid before the
//! typed schema still parse; and the spec builders build exactly what `from_config`
//! builds from the same values.

use lmser::data::{self, Dataset, Distribution, stream};
use lmser::dynamics::rules::Rule;
use lmser::experiment::learning::{InitialWeights, LearningSpec, Mode};
use lmser::experiment::perceptron::{InitialState, PerceptronSpec};
use lmser::experiment::random_weights;
use lmser::io::config::Config;
use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::solver::Method;
use nalgebra::DVector;
use std::path::Path;

fn parse(text: &str) -> lmser::Result<Config> {
    Config::parse(text, Path::new("t.toml"))
}

const EIGENVALUES: [f64; 4] = [4.0, 2.0, 1.0, 0.5];

/// A learning config in mode MODE with EXTRA on line 11 (inside `[learning]`).
const LEARNING: &str = "name = \"t\"
kind = \"learning\"
seed = 5
[network]
layers = [4, 2]
[data]
eigenvalues = [4.0, 2.0, 1.0, 0.5]
[learning]
mode = \"MODE\"
t_end = 20.0
EXTRA[init]
scale = 0.3
";

const PERCEPTRON: &str = "name = \"t\"
kind = \"perceptron\"
seed = 3
[network]
layers = [3, 2]
activation = \"logistic\"
init = { scale = 1.0 }
[input]
scale = 1.0
[solver]
method = \"rk4\"
t_end = 5.0
";

const LANDSCAPE: &str = "name = \"t\"
kind = \"landscape\"
[network]
layers = [4, 2]
[data]
eigenvalues = [4.0, 2.0, 1.0, 0.5]
";

fn learning(mode: &str, extra: &str) -> String {
    LEARNING.replace("MODE", mode).replace("EXTRA", extra)
}

#[test]
fn a_key_of_another_mode_is_an_error_at_its_line() {
    let keys = [
        ("eta", "0.01"),
        ("eta_decay", "100.0"),
        ("batch", "2"),
        ("tau", "0.01"),
        ("presentation", "0.1"),
        ("input", "\"samples\""),
        ("settle", "\"ode\""),
    ];
    for mode in ["averaged", "stochastic", "coupled", "two-phase"] {
        let cfg = parse(&learning(mode, "")).unwrap();
        let used = match &cfg.experiment {
            lmser::io::config::Experiment::Learning(c) => {
                c.learning.as_ref().unwrap().mode.name().keys()
            }
            _ => panic!("not a learning config"),
        };
        for (key, value) in keys {
            let text = learning(mode, &format!("{key} = {value}\n"));
            if used.contains(&key) {
                LearningSpec::from_config(&parse(&text).unwrap()).unwrap();
            } else {
                let e = parse(&text).unwrap_err().to_string();
                assert!(e.contains(&format!("learning.{key}: line 11")), "{e}");
                assert!(
                    e.contains(&format!("is not used by mode = \"{mode}\"")),
                    "{e}"
                );
            }
        }
    }
}

#[test]
fn a_section_of_another_kind_is_an_error_at_its_line() {
    let sections = [
        ("input", "[input]\nscale = 1.0\n"),
        ("initial", "[initial]\nz = \"zero\"\n"),
        ("data", "[data]\neigenvalues = [1.0, 0.5, 0.2]\n"),
        ("learning", "[learning]\nt_end = 1.0\n"),
        ("init", "[init]\nscale = 1.0\n"),
        ("landscape", "[landscape]\nzero_tol = 1e-6\n"),
    ];
    let base = learning("averaged", "");
    for (kind, text, used) in [
        ("perceptron", PERCEPTRON, &["input", "initial"][..]),
        ("learning", base.as_str(), &["data", "learning", "init"][..]),
        ("landscape", LANDSCAPE, &["data", "landscape"][..]),
    ] {
        let line = text.lines().count() + 1;
        for (name, section) in sections {
            let r = parse(&format!("{text}{section}"));
            if used.contains(&name) {
                continue;
            }
            let e = r.unwrap_err().to_string();
            assert!(e.contains(&format!("[{name}]: line {line}")), "{e}");
            assert!(
                e.contains(&format!("is not used by kind = \"{kind}\"")),
                "{e}"
            );
        }
    }
}

#[test]
fn choices_list_their_valid_names() {
    let e = parse(&learning("averaged", "rule = \"hebb\"\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("learning.rule: line 11"), "{e}");
    assert!(
        e.contains("expected one of `lmser`, `oja`, `oja-weighted`"),
        "{e}"
    );
    let e = parse(&PERCEPTRON.replace("\"logistic\"", "[\"logistic\", \"relu\"]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("network.activation: line 6"), "{e}");
    assert!(
        e.contains("`linear`, `logistic`, `tanh`, `amplified`"),
        "{e}"
    );
}

/// `method = "bdf"` is accepted where the other stiff methods are; a misspelt
/// method is a one-line error at its line listing every valid name, bdf included.
#[test]
fn the_bdf_method_is_a_valid_choice() {
    let cfg = parse(&PERCEPTRON.replace("\"rk4\"", "\"bdf\"")).expect("bdf parses");
    let text = format!("{cfg:?}");
    assert!(text.contains("Bdf"), "{text}");
    let e = parse(&PERCEPTRON.replace("\"rk4\"", "\"bdff\""))
        .unwrap_err()
        .to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("solver.method: line 11"), "{e}");
    for name in ["dopri5", "rodas4", "imex", "bdf"] {
        assert!(e.contains(&format!("`{name}`")), "{name}: {e}");
    }
}

/// `method = "ros2"` (removed, docs/numerics.md §5.7) is a one-line error at its
/// line that lists the valid names, no longer ros2, and says to use bdf or rodas4.
#[test]
fn the_removed_ros2_method_is_refused_with_its_replacement() {
    let e = parse(&PERCEPTRON.replace("\"rk4\"", "\"ros2\""))
        .unwrap_err()
        .to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("solver.method: line 11"), "{e}");
    assert!(e.contains("unknown variant `ros2`"), "{e}");
    let listed = e
        .split("expected one of")
        .nth(1)
        .and_then(|l| l.split(';').next());
    let listed = listed.unwrap_or_else(|| panic!("no list of methods: {e}"));
    for name in ["dopri5", "rodas4", "imex", "bdf"] {
        assert!(listed.contains(&format!("`{name}`")), "{name}: {e}");
    }
    assert!(!listed.contains("ros2"), "{e}");
    assert!(e.contains("ros2 was removed"), "{e}");
    assert!(e.contains("use `bdf`, or `rodas4`"), "{e}");
}

#[test]
fn keys_valid_before_the_typed_schema_still_parse() {
    // network.tau and network.gains were accepted (and unused) by learning runs,
    // [solver] and the other [network] keys by landscape runs.
    let text = learning("averaged", "").replace(
        "layers = [4, 2]\n",
        "layers = [4, 2]\ntau = 2.0\ngains = [2.0, 1.0]\n",
    );
    LearningSpec::from_config(&parse(&text).unwrap()).unwrap();
    let text = format!("{LANDSCAPE}[solver]\nmethod = \"dop853\"\nrtol = 1e-10\n").replace(
        "layers = [4, 2]\n",
        "layers = [4, 2]\nactivation = \"linear\"\n",
    );
    assert_eq!(parse(&text).unwrap().kind(), "landscape");
}

#[test]
fn a_spec_of_the_wrong_kind_is_an_error() {
    let cfg = parse(LANDSCAPE).unwrap();
    let e = PerceptronSpec::from_config(&cfg).unwrap_err().to_string();
    assert!(e.contains("t.toml: kind: is \"landscape\""), "{e}");
    assert!(LearningSpec::from_config(&cfg).is_err());
}

fn dataset(seed: u64) -> Dataset {
    let mut rng = data::rng(seed, stream::DATA);
    Dataset::from_eigenvalues(&EIGENVALUES, true, Distribution::Gaussian, &mut rng)
}

fn same(a: &LearningSpec, b: &LearningSpec) {
    assert_eq!(a.w0, b.w0);
    assert_eq!(a.mode, b.mode);
    assert_eq!(a.rule, b.rule);
    assert_eq!(a.tau_w, b.tau_w);
    assert_eq!(a.seed, b.seed);
    assert_eq!(a.samples, b.samples);
    assert_eq!(a.spectrum.values, b.spectrum.values);
    assert_eq!(a.dataset.sigma(), b.dataset.sigma());
    assert_eq!(a.solver_reason, b.solver_reason);
    let (s, t) = (&a.solver, &b.solver);
    assert_eq!(
        (s.method, s.rtol, s.atol, s.t_end, s.output_dt, s.step),
        (t.method, t.rtol, t.atol, t.t_end, t.output_dt, t.step)
    );
    assert_eq!(
        (s.max_steps, s.steady_tol, s.divergence_bound),
        (t.max_steps, t.steady_tol, t.divergence_bound)
    );
}

#[test]
fn the_learning_builder_builds_what_the_config_builds() {
    let extra = "tau = 0.01\npresentation = 0.1\ninput = \"averaged\"\n";
    let text = learning("coupled", extra).replace("scale = 0.3", "saddle = [1, 3]\neps = 1e-3");
    let from_config = LearningSpec::from_config(&parse(&text).unwrap()).unwrap();
    let init = InitialWeights::Saddle {
        n1: 2,
        keep: vec![1, 3],
        eps: 1e-3,
    };
    let built = LearningSpec::builder(dataset(5), init, 20.0)
        .mode(Mode::Coupled {
            tau: 0.01,
            presentation: 0.1,
            averaged_input: true,
        })
        .seed(5)
        .build()
        .unwrap();
    same(&from_config, &built);
    assert_eq!(built.solver.method, Method::Imex);

    let text = learning("stochastic", "eta = 0.02\nbatch = 4\n")
        .replace("t_end = 20.0", "t_end = 20.0\nrule = \"oja\"")
        + "[solver]\nmethod = \"dop853\"\nrtol = 1e-9\n";
    let from_config = LearningSpec::from_config(&parse(&text).unwrap()).unwrap();
    let init = InitialWeights::Random { n1: 2, scale: 0.3 };
    let built = LearningSpec::builder(dataset(5), init, 20.0)
        .rule(Rule::Oja)
        .mode(Mode::Stochastic {
            eta: 0.02,
            decay: None,
            batch: 4,
        })
        .seed(5)
        .method(Method::Dop853)
        .rtol(1e-9)
        .build()
        .unwrap();
    same(&from_config, &built);

    let text = learning("averaged", "")
        .replace(
            "layers = [4, 2]\n",
            "layers = [4, 2]\nactivation = \"tanh\"\n",
        )
        .replace("[learning]", "n_samples = 50\n[learning]");
    let from_config = LearningSpec::from_config(&parse(&text).unwrap()).unwrap();
    let init = InitialWeights::Random { n1: 2, scale: 0.3 };
    let built = LearningSpec::builder(dataset(5), init, 20.0)
        .rule(Rule::LmserTanh { beta: 1.0 })
        .n_samples(50)
        .seed(5)
        .build()
        .unwrap();
    same(&from_config, &built);
    assert_eq!(built.samples.as_ref().map(|x| x.nrows()), Some(50));
}

#[test]
fn the_perceptron_builder_builds_what_the_config_builds() {
    let from_config = PerceptronSpec::from_config(&parse(PERCEPTRON).unwrap()).unwrap();
    let weights = random_weights(&[3, 2], 1.0, 3);
    let net = Network::new(
        vec![3, 2],
        weights,
        vec![Activation::Logistic],
        vec![1.0],
        Top::Free,
    )
    .unwrap();
    let mut rng = data::rng(3, stream::INPUT);
    let x = DVector::from_fn(3, |_, _| data::normal(&mut rng));
    let built = PerceptronSpec::builder(net, x, 5.0)
        .seed(3)
        .method(Method::Rk4)
        .initial(InitialState::Random)
        .build()
        .unwrap();
    assert_eq!(from_config.z0, built.z0);
    assert_eq!(from_config.dynamics.input(), built.dynamics.input());
    let (s, t) = (&from_config.solver, &built.solver);
    assert_eq!(
        (s.method, s.t_end, s.output_dt, s.step, s.rtol),
        (t.method, t.t_end, t.output_dt, t.step, t.rtol)
    );
}

#[test]
fn builder_errors_name_the_setting() {
    let w0 = nalgebra::DMatrix::from_element(2, 3, 0.1);
    let e = LearningSpec::builder(dataset(1), w0, 10.0)
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("LearningSpec::builder: init.weights:"), "{e}");
    let e = LearningSpec::builder(
        dataset(1),
        InitialWeights::Random { n1: 2, scale: 1.0 },
        10.0,
    )
    .tau_w(-1.0)
    .build()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("learning.tau_w: must be a finite number > 0"),
        "{e}"
    );
    let e = LearningSpec::builder(
        dataset(1),
        InitialWeights::Random { n1: 2, scale: 1.0 },
        10.0,
    )
    .mode(Mode::Coupled {
        tau: 0.01,
        presentation: 0.3,
        averaged_input: false,
    })
    .build()
    .unwrap_err()
    .to_string();
    assert!(e.contains("learning.presentation"), "{e}");
}
