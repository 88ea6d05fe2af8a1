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
    },
    /// Run fast numerical checks of every theorem; print a table, write check.csv.
    Check {
        /// Output directory for check.csv and plots (default runs/check).
        #[arg(long, default_value = "runs/check")]
        out: PathBuf,
    },
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
        } => {
            // Ctrl-C / SIGTERM raise a flag the run polls, so it can stop cleanly
            // (other commands keep the default: stop at once).
            let interrupt = Arc::new(AtomicBool::new(false));
            let flag = interrupt.clone();
            let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
            let opts = RunOptions {
                out: resume.clone().or(out),
                quiet,
                interrupt: Some(interrupt),
                resume: resume.is_some(),
                force,
            };
            match experiment::run_file(&config, &opts) {
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
                    let dir = opts.out.clone().unwrap_or_else(|| default_dir(&config));
                    if dir.join("checkpoint.json").exists() {
                        eprintln!(
                            "error: {e}; resume with: lmser run {} --resume {}",
                            shell_word(&config),
                            shell_word(&dir)
                        );
                    } else {
                        eprintln!(
                            "error: {e}; this kind of run keeps no checkpoint, rerun it with: lmser run {} --out {} --force",
                            shell_word(&config),
                            shell_word(&dir)
                        );
                    }
                    ExitCode::from(e.exit_code() as u8)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
    }
}

/// The default run directory of a config: runs/<name>.
fn default_dir(config: &std::path::Path) -> PathBuf {
    let name = lmser::io::config::Config::load(config)
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
