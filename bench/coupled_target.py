#!/usr/bin/env python3
"""The stiff coupled target of docs/numerics.md ("IMEX"): lmser against SciPy.

The one-layer coupled system averaged over x, in Z = E[z x^T] (linear units):

    tau dZ/dt = -Z + W Sigma,
    tau_w dW/dt = Z - Z Sigma^-1 Z^T W + W Sigma - W W^T Z

(src/dynamics/coupled/, CoupledAveraged), 64 x 8, tau = 0.01, tau_w = 10 (the time
constants of experiments/coupled-averaged.toml; tau_w / tau = 1000), t = 1e5, rtol
1e-6, atol 1e-9, started settled (Z = W0 Sigma).
Sigma = Q diag(1/i) Q^T (Q a seeded Haar rotation), W0 entries N(0, 0.1^2 / 64).

    python3 bench/coupled_target.py DIR [LMSER_BINARY] [REPS] [TAU TAU_W]

writes DIR/sigma.csv, DIR/w0.csv and DIR/config.toml (no [solver] method: lmser picks
one), then times, REPS times each, the whole process of `lmser run` on that config and
of this script's SciPy side (`python3 coupled_target.py --scipy METHOD DIR`, import
included) for BDF and LSODA, and prints one line per run with the median wall time,
the right-hand side count and the final subspace error ||P_W - P_8||_F (P_8 the
projector on Sigma's top 8 eigenvectors). Needs NumPy and SciPy.
"""

import time

T_START = time.perf_counter()

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

N0, N1, T_END, RTOL, ATOL = 64, 8, 1e5, 1e-6, 1e-9


def subspace_error(w, sigma):
    vals, vecs = np.linalg.eigh(sigma)
    top = vecs[:, np.argsort(vals)[::-1][:N1]]
    q, _ = np.linalg.qr(w.T)
    return float(np.linalg.norm(q @ q.T - top @ top.T))


def scipy_side(method, d):
    from scipy.integrate import solve_ivp

    p = json.loads((d / "problem.json").read_text())
    tau, tau_w = p["tau"], p["tau_w"]
    s = np.loadtxt(d / "sigma.csv", delimiter=",")
    w0 = np.loadtxt(d / "w0.csv", delimiter=",", ndmin=2)
    s_inv = np.linalg.pinv(s)
    m = N1 * N0

    def f(_t, y):
        z = y[:m].reshape(N1, N0)
        w = y[m:].reshape(N1, N0)
        ws = w @ s
        dz = (-z + ws) / tau
        dw = (z - ((z @ s_inv) @ z.T) @ w + ws - (w @ w.T) @ z) / tau_w
        return np.concatenate([dz.ravel(), dw.ravel()])

    y0 = np.concatenate([(w0 @ s).ravel(), w0.ravel()])
    sol = solve_ivp(f, (0.0, T_END), y0, method=method, rtol=RTOL, atol=ATOL)
    assert sol.success, sol.message
    w = sol.y[m:, -1].reshape(N1, N0)
    print(json.dumps({"nfev": int(sol.nfev), "njev": int(sol.njev),
                      "steps": int(len(sol.t) - 1),
                      "subspace_error": subspace_error(w, s),
                      "total_s": time.perf_counter() - T_START}))


def write_problem(d, tau, tau_w):
    d.mkdir(parents=True, exist_ok=True)
    (d / "problem.json").write_text(json.dumps({"tau": tau, "tau_w": tau_w}))
    rng = np.random.default_rng(1)
    q, r = np.linalg.qr(rng.standard_normal((N0, N0)))
    q = q * np.sign(np.diag(r))
    sigma = q @ np.diag(1.0 / np.arange(1, N0 + 1)) @ q.T
    sigma = 0.5 * (sigma + sigma.T)
    w0 = 0.1 / np.sqrt(N0) * rng.standard_normal((N1, N0))
    np.savetxt(d / "sigma.csv", sigma, delimiter=",", fmt="%.17g")
    np.savetxt(d / "w0.csv", w0, delimiter=",", fmt="%.17g")
    (d / "config.toml").write_text(f"""name = "coupled-target"
kind = "learning"
seed = 1
[network]
layers = [{N0}, {N1}]
activation = "linear"
[data]
covariance = "sigma.csv"
[learning]
rule = "lmser"
mode = "coupled"
input = "averaged"
tau = {tau}
tau_w = {tau_w}
t_end = {T_END}
[init]
weights = ["w0.csv"]
""")
    return sigma


def timed(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout


def main():
    if sys.argv[1] == "--scipy":
        scipy_side(sys.argv[2], Path(sys.argv[3]))
        return
    d = Path(sys.argv[1])
    binary = sys.argv[2] if len(sys.argv) > 2 else "lmser"
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tau = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    tau_w = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
    sigma = write_problem(d, tau, tau_w)
    rows = []
    times = []
    for k in range(reps):
        run = d / f"run{k}"
        t, _ = timed([binary, "run", "-q", "--force", str(d / "config.toml"),
                      "--out", str(run)])
        times.append(t)
    summary = json.loads((d / "run0" / "summary.json").read_text())
    w = np.loadtxt(d / "run0" / "W1.csv", delimiter=",", ndmin=2)
    rows.append({"side": "lmser", "method": summary["solver"]["method"],
                 "median_s": float(np.median(times)), "times_s": times,
                 "nfev": summary["solver"]["rhs_evals"],
                 "steps": summary["solver"]["accepted_steps"],
                 "subspace_error": subspace_error(w, sigma)})
    for method in ["BDF", "LSODA"]:
        times, last = [], None
        for _ in range(reps):
            t, out = timed([sys.executable, __file__, "--scipy", method, str(d)])
            times.append(t)
            last = json.loads(out)
        rows.append({"side": "scipy", "method": method,
                     "median_s": float(np.median(times)), "times_s": times, **last})
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
