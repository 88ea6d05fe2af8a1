//! `lmser run CONFIG --set key=value`: an override gives exactly the run of the file
//! with that value written in (same summary echo, hash and trajectory); bad keys and
//! values are one-line errors naming `--set key`; errors of the file itself keep
//! their line; a config with a `[sweep]` table runs its base point.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lmser");

/// A fast averaged learning run; `{SCALE}`, `{SEED}`, `{METHOD}` are filled in.
const CONFIG: &str = "name = \"set\"
kind = \"learning\"
seed = {SEED}
[network]
layers = [4, 2]
[data]
eigenvalues = [4.0, 2.0, 1.0, 0.5]
[learning]
t_end = 5.0
[init]
scale = {SCALE}
[solver]
method = \"{METHOD}\"
output_dt = 0.1
";

fn config(dir: &Path, name: &str, scale: &str, seed: &str, method: &str) -> PathBuf {
    let text = CONFIG
        .replace("{SCALE}", scale)
        .replace("{SEED}", seed)
        .replace("{METHOD}", method);
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn lmser(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("spawn lmser")
}

fn run(config: &Path, out: &Path, set: &[&str]) -> Output {
    let mut args = vec!["run", config.to_str().unwrap(), "--quiet", "--out"];
    args.push(out.to_str().unwrap());
    for s in set {
        args.extend(["--set", s]);
    }
    lmser(&args)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// The one line on stderr of a failed command with exit code 2.
fn one_line_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let e = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
    assert!(!e.contains('\n'), "more than one line: {e}");
    assert!(e.starts_with("error: "), "{e}");
    e
}

/// `--set` of three values (float, bare-word choice, integer) runs exactly the
/// config with those values in the file: same config echo, hash, seed, solver and
/// byte-identical trajectory; and not the run without them.
#[test]
fn set_gives_the_run_of_the_edited_file() {
    let tmp = tempfile::tempdir().unwrap();
    let base = config(tmp.path(), "base.toml", "0.1", "1", "dopri5");
    let edited = config(tmp.path(), "edited.toml", "0.3", "4", "rk4");
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let set = ["init.scale=0.3", "solver.method=rk4", "seed=4"];
    assert!(run(&base, &a, &set).status.success());
    assert!(run(&edited, &b, &[]).status.success());
    assert!(run(&base, &c, &[]).status.success());
    let (sa, sb, sc) = (summary(&a), summary(&b), summary(&c));
    assert_eq!(sa["config"]["init"]["scale"], 0.3);
    assert_eq!(sa["config"]["solver"]["method"], "rk4");
    assert_eq!(sa["solver"]["method"], "rk4");
    assert_eq!(sa["seed"], 4);
    assert_eq!(sa["config"], sb["config"]);
    assert_eq!(sa["config_hash"], sb["config_hash"]);
    assert_ne!(sa["config_hash"], sc["config_hash"]);
    let traj = |d: &Path| std::fs::read(d.join("trajectory.csv")).unwrap();
    assert_eq!(traj(&a), traj(&b));
    assert_ne!(traj(&a), traj(&c));
    // An integer where the schema wants a float is accepted, as in a file.
    let d = tmp.path().join("d");
    assert!(run(&base, &d, &["learning.tau_w=2"]).status.success());
    assert_eq!(summary(&d)["config"]["learning"]["tau_w"], 2);
}

/// Every bad `--set` is one line, exit 2, naming `--set KEY`, and writes nothing.
#[test]
fn bad_set_keys_and_values_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let base = config(tmp.path(), "base.toml", "0.1", "1", "dopri5");
    let cases = [
        // (argument, what the message must name, and a word of the reason)
        (
            "init.scal=0.3",
            "--set init.scal=0.3",
            "unknown field `scal`",
        ),
        ("init.scale=abc", "--set init.scale=abc", "expected f64"),
        ("init.scale=-1", "--set init.scale=-1", "> 0"),
        ("solver.method=rk5", "--set solver.method=rk5", "rk4"),
        (
            "network.layers.x=1",
            "--set network.layers.x=1",
            "not a table",
        ),
        ("init.scale", "--set init.scale", "key=value"),
        ("init..scale=1", "--set init..scale=1", "dotted key"),
        ("init.scale=1 2", "--set init.scale=1 2", "not a TOML value"),
        ("sweep.x=1", "--set sweep.x=1", "[sweep]"),
    ];
    for (i, (arg, names, why)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let e = one_line_error(&run(&base, &out, &[arg]));
        assert!(e.contains(names) && e.contains(why), "{arg}: {e}");
        assert!(e.contains("base.toml"), "{arg}: {e}");
        assert!(!out.exists(), "{arg}: wrote {}", out.display());
    }
}

/// An error in the file itself is reported at its line, with or without `--set` and
/// with a `[sweep]` table before it (its lines are blanked, not removed).
#[test]
fn errors_of_the_file_keep_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = CONFIG
        .replace("{SCALE}", "0.1")
        .replace("{SEED}", "1")
        .replace("{METHOD}", "dopri5")
        .replace("t_end = 5.0", "t_end = 5.0\ntau_ww = 1.0");
    let line = text.lines().position(|l| l.starts_with("tau_ww")).unwrap() + 1;
    let plain = tmp.path().join("plain.toml");
    std::fs::write(&plain, &text).unwrap();
    let swept = tmp.path().join("swept.toml");
    let sweep = "[sweep]\n\"init.scale\" = [0.1, 0.2]\n[learning]";
    std::fs::write(&swept, text.replace("[learning]", sweep)).unwrap();
    let want = |shift: usize| format!("learning.tau_ww: line {} (`tau_ww = 1.0`)", line + shift);
    for (cfg, set, shift) in [
        (&plain, &[][..], 0),
        (&plain, &["init.scale=0.3"][..], 0),
        (&swept, &[][..], 2),
    ] {
        let e = one_line_error(&run(cfg, &tmp.path().join("o"), set));
        assert!(e.contains(&want(shift)), "{e}");
    }
}

/// `lmser run` on a config with a `[sweep]` table runs its base point: the config
/// without the table (same hash as the file without it), with a note on stderr.
#[test]
fn run_on_a_sweep_config_runs_its_base_point() {
    let tmp = tempfile::tempdir().unwrap();
    let base = config(tmp.path(), "base.toml", "0.1", "1", "dopri5");
    let text = std::fs::read_to_string(&base).unwrap();
    let swept = tmp.path().join("swept.toml");
    std::fs::write(
        &swept,
        format!("{text}[sweep]\n\"init.scale\" = [0.2, 0.3]\nseeds = 2\n"),
    )
    .unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let o = run(&swept, &a, &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("base point"));
    assert!(run(&base, &b, &[]).status.success());
    let (sa, sb) = (summary(&a), summary(&b));
    assert_eq!(sa["config_hash"], sb["config_hash"]);
    assert!(sa["config"].get("sweep").is_none());
    assert_eq!(sa["config"]["init"]["scale"], 0.1);
}
