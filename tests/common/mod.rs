//! Helpers shared by the integration tests that spawn the binary.

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
