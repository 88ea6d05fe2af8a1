//! Helpers shared by the integration tests: signals and waiting for a spawned run
//! (signals.rs, resume.rs), the integrators' test models (models.rs) and harness
//! (harness.rs), random nets with their stacked form for the Theorem 1 tests
//! (nets.rs), the one-layer net of the coupled-learning tests (coupled.rs), config and
//! sample files of end-to-end runs (files.rs), and the
//! placements' formulas written out by hand (placements.rs). Each test binary uses a
//! part of them, hence `allow(dead_code)`.
#![allow(dead_code)]

pub mod coupled;
pub mod files;
pub mod harness;
pub mod models;
pub mod nets;
pub mod placements;

/// Sends a signal ("-INT", "-TERM", "-KILL") to a process (no `kill` binary needed).
pub fn send(signal: &str, pid: u32) {
    let sig = match signal {
        "-INT" => libc::SIGINT,
        "-TERM" => libc::SIGTERM,
        "-KILL" => libc::SIGKILL,
        other => panic!("unknown signal {other}"),
    };
    // SAFETY: kill(2) on a child process id we spawned and have not reaped.
    assert_eq!(
        unsafe { libc::kill(pid as libc::pid_t, sig) },
        0,
        "kill failed"
    );
}

/// Complete data rows of a CSV file now: newline-terminated lines after the header
/// (0 while the file does not exist).
pub fn csv_rows(path: &std::path::Path) -> usize {
    std::fs::read(path).map_or(0, |b| {
        b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1)
    })
}

/// How long [`wait_until`] waits for an event: generous, for a loaded machine.
pub const EVENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `ready` every 10 ms until it returns true. Panics, naming `what`, when
/// `child` exits first (the run was too short to interrupt) or after
/// [`EVENT_TIMEOUT`].
pub fn wait_until(child: &mut std::process::Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    loop {
        if ready() {
            return;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the run exited ({status}) before {what}; make it longer");
        }
        assert!(
            start.elapsed() < EVENT_TIMEOUT,
            "no {what} within {EVENT_TIMEOUT:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Waits until `csv` holds at least `n` complete data rows; returns the count seen.
pub fn wait_for_rows(child: &mut std::process::Child, csv: &std::path::Path, n: usize) -> usize {
    let mut seen = 0;
    wait_until(child, &format!("{n} rows in {}", csv.display()), || {
        seen = csv_rows(csv);
        seen >= n
    });
    seen
}

/// Waits until `path` exists.
pub fn wait_for_file(child: &mut std::process::Child, path: &std::path::Path) {
    wait_until(child, &format!("{}", path.display()), || path.exists());
}
