//! The `lmser` command line: run experiment configs, check the theorems.

use clap::{Parser, Subcommand};
use lmser::experiment::{self, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Simulator of LMSER self-organizing nets (Xu 1991/1993) as dynamical systems.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Config reference: README.md, section \"Config reference\"; the mathematics: docs/theory.md.

Exit codes:
  0    finished
  1    lmser check: the simulator disagrees with theory it implements
  2    bad input: config, data file or output directory
  3    the simulation diverged or the solver failed
  130  interrupted (Ctrl-C / SIGTERM); the message gives the command that resumes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment config; writes trajectory.csv, summary.json and plots.
    Run {
        /// The experiment config (TOML).
        config: PathBuf,
        /// Output directory (default runs/<name>); one that holds a run is refused
        /// unless --force.
        #[arg(long, conflicts_with = "resume")]
        out: Option<PathBuf>,
        /// Replace the run already in the output directory (removes the files a run
        /// writes; never other files).
        #[arg(long, conflicts_with = "resume")]
        force: bool,
        /// Continue the unfinished run in DIR from its checkpoint, appending to its files.
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Override one config value by dotted key, e.g. --set init.scale=0.3 or
        /// --set solver.method=rk4 (repeatable; the value is TOML, a bare word a string).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Start from the weights W1.csv, W2.csv, ... a finished run wrote in DIR
        /// (the same as --set "init={ weights = [...] }" with those files).
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },
    /// Run a config at every point of its [sweep] grid, in parallel; writes
    /// DIR/runs/<index>/ (ordinary run directories) and DIR/index.csv.
    Sweep(SweepArgs),
    /// Join the shard indexes DIR/index.shard-i-of-n.csv of a sweep into DIR/index.csv.
    Merge {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// Run fast numerical checks of every theorem; print a table, write check.csv.
    Check {
        /// Output directory for check.csv and plots (default runs/check).
        #[arg(long, default_value = "runs/check")]
        out: PathBuf,
    },
}

/// `lmser sweep` arguments.
#[derive(clap::Args)]
struct SweepArgs {
    /// The sweep config (TOML with a [sweep] table).
    config: PathBuf,
    /// Sweep directory (default runs/<name>-sweep); rerunning a sweep skips its
    /// finished runs and redoes the others.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Runs at a time (default: one per CPU); results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Run only the runs with index % n == i; writes DIR/index.shard-i-of-n.csv
    /// (join the shards with lmser merge DIR).
    #[arg(long, value_name = "I/N")]
    shard: Option<lmser::sweep::Shard>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Redo every run, also finished ones and runs of another config.
    #[arg(long)]
    force: bool,
    /// Override one value of the base config (as for run; not a swept key).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check { out } => match lmser::check::run_all(&out) {
            Ok(rows) => {
                println!("{}", lmser::check::terminal_header());
                for r in &rows {
                    println!("{}", r.terminal_line());
                }
                println!(
                    "full table (what each claim says, what was measured): {}",
                    out.join("check.csv").display()
                );
                let bugs: Vec<_> = rows
                    .iter()
                    .filter(|r| r.is_bug())
                    .map(|r| r.claim)
                    .collect();
                if bugs.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "error: the simulator disagrees with theory it implements: {}",
                        bugs.join(", ")
                    );
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code() as u8)
            }
        },
        Command::Run {
            config,
            out,
            resume,
            quiet,
            force,
            mut set,
            from,
        } => {
            if let Some(dir) = from {
                match weights_of(&dir) {
                    Ok(arg) => set.push(arg),
                    Err(message) => {
                        eprintln!("error: {}: {message}", dir.display());
                        return ExitCode::from(2);
                    }
                }
            }
            // Ctrl-C / SIGTERM raise a flag the run polls, so it can stop cleanly
            // (lmser check keeps the default: stop at once).
            let interrupt = interrupt_flag();
            let opts = RunOptions {
                out: resume.clone().or(out),
                quiet,
                interrupt: Some(interrupt),
                resume: resume.is_some(),
                force,
            };
            match run_config(&config, &set, &opts) {
                Ok(report) => {
                    println!(
                        "{}: {} ({})",
                        config.display(),
                        report.summary.status.name(),
                        report.dir.display()
                    );
                    for line in &report.lines {
                        println!("{line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e @ lmser::Error::Interrupted { .. }) => {
                    let dir = opts
                        .out
                        .clone()
                        .unwrap_or_else(|| default_dir(&config, &set));
                    eprintln!("error: {e}; {}", rerun_hint(&config, &set, &dir));
                    ExitCode::from(e.exit_code() as u8)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
        Command::Sweep(args) => sweep_command(args),
        Command::Merge { dir } => merge_command(&dir),
    }
}

/// Ctrl-C / SIGTERM raise the returned flag, which runs poll to stop cleanly.
fn interrupt_flag() -> Arc<AtomicBool> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    interrupt
}

/// `lmser run`: the config with its `--set` values (errors they cause name them); a
/// config with a [sweep] table runs its base point.
fn run_config(
    config: &std::path::Path,
    set: &[String],
    opts: &RunOptions,
) -> lmser::Result<experiment::RunReport> {
    use lmser::io::config::{Config, Overrides};
    let overrides = Overrides::from_args(set, config)?;
    let cfg = Config::load_with(config, &overrides)?;
    if cfg.sweep.is_some() && !opts.resume {
        eprintln!(
            "note: {} has a [sweep] table; running its base point (run the grid with: lmser sweep {})",
            config.display(),
            shell_word(config)
        );
    }
    experiment::run(&cfg, opts).map_err(|e| overrides.attribute(e))
}

/// `lmser merge`: joins the shard indexes.
fn merge_command(dir: &std::path::Path) -> ExitCode {
    match lmser::sweep::merge(dir) {
        Ok(r) => {
            println!(
                "merged {} shards: {} runs, {} not finished ({})",
                r.shards,
                r.runs,
                r.unfinished,
                r.index.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// `lmser sweep`: runs the grid, prints a summary line and the failed runs.
fn sweep_command(args: SweepArgs) -> ExitCode {
    let opts = &lmser::sweep::SweepOptions {
        out: args.out,
        threads: args.threads.map(usize::from),
        shard: args.shard,
        quiet: args.quiet,
        force: args.force,
        set: args.set,
        interrupt: Some(interrupt_flag()),
    };
    let config = args.config.as_path();
    let report = match lmser::sweep::sweep(config, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let counts: Vec<String> = report
        .statuses
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    println!(
        "{}: {} runs ({} already finished, skipped): {} ({})",
        config.display(),
        report.runs,
        report.skipped,
        counts.join(", "),
        report.index.display()
    );
    for (index, e) in report.errors.iter().take(10) {
        eprintln!("run {index}: {e}");
    }
    let code = report.exit_code();
    if report.interrupted {
        let shard = opts
            .shard
            .map(|s| format!(" --shard {}/{}", s.index, s.count))
            .unwrap_or_default();
        eprintln!(
            "error: sweep interrupted; resume with: lmser sweep {}{} --out {}{shard}",
            shell_word(config),
            set_words(&opts.set),
            shell_word(&report.dir)
        );
    } else if code != 0 {
        eprintln!(
            "error: {} of {} runs did not finish; see {}",
            report.errors.len(),
            report.runs,
            report.index.display()
        );
    }
    ExitCode::from(code as u8)
}

/// How to continue an interrupted run in `dir`: resume from its checkpoint, or (for
/// kinds that keep none) rerun it.
fn rerun_hint(config: &std::path::Path, set: &[String], dir: &std::path::Path) -> String {
    let resumable = dir.join("checkpoint.json").exists();
    let (config, set, dir) = (shell_word(config), set_words(set), shell_word(dir));
    if resumable {
        format!("resume with: lmser run {config}{set} --resume {dir}")
    } else {
        format!(
            "this kind of run keeps no checkpoint, rerun it with: lmser run {config}{set} --out {dir} --force"
        )
    }
}

/// ` --set 'k=v'` words for a command line.
fn set_words(set: &[String]) -> String {
    set.iter()
        .map(|s| format!(" --set {}", shell_word(std::path::Path::new(s))))
        .collect()
}

/// The default run directory of a config: runs/<name>.
fn default_dir(config: &std::path::Path, set: &[String]) -> PathBuf {
    use lmser::io::config::{Config, Overrides};
    let name = Overrides::from_args(set, config)
        .and_then(|o| Config::load_with(config, &o))
        .map(|c| c.name().to_string())
        .unwrap_or_default();
    std::path::Path::new("runs").join(name)
}

/// A path as one shell word (single-quoted when it holds anything but safe characters).
fn shell_word(p: &std::path::Path) -> String {
    let s = p.display().to_string();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=,:@".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `init={ weights = [".../W1.csv", ...] }` (replacing any other `[init]` key) for the weight files of the run in `dir`.
fn weights_of(dir: &std::path::Path) -> Result<String, String> {
    let files: Vec<PathBuf> = (1..)
        .map(|k| dir.join(format!("W{k}.csv")))
        .take_while(|p| p.is_file())
        .collect();
    if files.is_empty() {
        return Err("holds no W1.csv; give the directory of a finished learning run".into());
    }
    let quoted: Vec<String> = files
        .iter()
        .map(|p| {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            toml::Value::String(abs.display().to_string()).to_string()
        })
        .collect();
    Ok(format!("init={{ weights = [{}] }}", quoted.join(", ")))
}
