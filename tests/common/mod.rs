//! Helpers shared by the integration tests: signals and waiting for a spawned run
//! (signals.rs, resume.rs), and the integrators' test models (models.rs). Each test
//! binary uses a part of them, hence `allow(dead_code)`.
#![allow(dead_code)]

pub mod models;

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
