//! The `lmser` command line: run experiment configs, check the theorems.

use clap::{Parser, Subcommand};
use lmser::experiment::{self, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Simulator of LMSER self-organizing nets (Xu 1991/1993) as dynamical systems.
#[derive(Parser)]
#[command(version, about)]
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
        /// Output directory (default runs/<name>).
        #[arg(long, conflicts_with = "resume")]
        out: Option<PathBuf>,
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
                for r in &rows {
                    println!(
                        "{:<26} {:<22} slides: {}",
                        r.claim,
                        r.verdict.name(),
                        r.slides
                    );
                    println!("{:<26} measured: {}", "", r.measured);
                }
                println!("wrote {}", out.join("check.csv").display());
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
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
    }
}
