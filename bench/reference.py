#!/usr/bin/env python3
"""SciPy reference peer of the lmser benchmark (bench/run.sh runs it).

Averaged one-layer LMSER, tau_w dW/dt = 2 W S - W S W^T W - W W^T W S, integrated by
SciPy's DOP853 in the input basis (the direct form) from the Sigma and W0 that the
Rust side wrote as CSV:

    python3 bench/reference.py PROBLEM_DIR VARIANT

PROBLEM_DIR holds problem.json (n0, n1, t_end, rtol, atol, tau_w), sigma.csv and
w0.csv. VARIANT is "one-product" (W S formed once per call, the rest n1 x n1
intermediates: the same algebra as lmser) or "as-written" (the formula evaluated
left to right, three n1 n0^2 products per call). Writes w_scipy_VARIANT.csv (W at
t_end) and prints one JSON line with the phase times.

VARIANT "stochastic" is the NumPy peer of the stochastic digits case: PROBLEM_DIR
holds digits.csv (1797 x 64), w0.csv, perm.csv (one permutation per epoch) and
stochastic.json (n1, epochs, batch, eta, tau_w); for each epoch, minibatches of
`batch` consecutive indices of its permutation (the last one shorter) and
W += (eta / tau_w) F, F = 2 W C - (W C W^T) W - (W W^T) W C, W C = (W X_b^T) X_b / b
(the same algebra as lmser). Writes w_numpy.csv. Needs NumPy and SciPy:
`pip install numpy scipy`. The bench sets OPENBLAS_NUM_THREADS=1 (one thread, as
lmser).
"""

import time

T_START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

T_IMPORT = time.perf_counter()


def stochastic(d):
    p = json.loads((d / "stochastic.json").read_text())
    x = np.loadtxt(d / "digits.csv", delimiter=",")
    w = np.loadtxt(d / "w0.csv", delimiter=",", ndmin=2)
    perm = np.loadtxt(d / "perm.csv", delimiter=",", dtype=np.int64, ndmin=2)
    assert w.shape == (p["n1"], x.shape[1]) and perm.shape == (p["epochs"], len(x))
    t_read = time.perf_counter()
    b, step = p["batch"], p["eta"] / p["tau_w"]
    t0 = time.perf_counter()
    for order in perm:
        for s in range(0, len(order), b):
            xb = x[order[s:s + b]]
            wc = (w @ xb.T) @ xb * (1.0 / len(xb))
            f = 2.0 * wc - (wc @ w.T) @ w - (w @ w.T) @ wc
            w += f * step
    t_solve = time.perf_counter() - t0
    r = x - (x @ w.T) @ w
    j = 0.5 * float(np.mean(np.sum(r * r, axis=1)))
    np.savetxt(d / "w_numpy.csv", w, delimiter=",", fmt="%.17g")
    print(json.dumps({
        "variant": "stochastic",
        "import_s": T_IMPORT - T_START,
        "read_s": t_read - T_IMPORT,
        "solve_s": t_solve,
        "J": j,
        "numpy": np.__version__,
    }))


def main():
    d, variant = Path(sys.argv[1]), sys.argv[2]
    if variant == "stochastic":
        return stochastic(d)
    p = json.loads((d / "problem.json").read_text())
    n0, n1, tau = p["n0"], p["n1"], p["tau_w"]
    s = np.loadtxt(d / "sigma.csv", delimiter=",")
    w0 = np.loadtxt(d / "w0.csv", delimiter=",", ndmin=2)
    assert s.shape == (n0, n0) and w0.shape == (n1, n0)
    t_read = time.perf_counter()

    def one_product(_t, y):
        w = y.reshape(n1, n0)
        ws = w @ s
        return ((2.0 * ws - (ws @ w.T) @ w - (w @ w.T) @ ws) / tau).ravel()

    def as_written(_t, y):
        w = y.reshape(n1, n0)
        return ((2.0 * w @ s - w @ s @ w.T @ w - w @ w.T @ w @ s) / tau).ravel()

    f = {"one-product": one_product, "as-written": as_written}[variant]
    t0 = time.perf_counter()
    sol = solve_ivp(f, (0.0, p["t_end"]), w0.ravel(), method="DOP853",
                    rtol=p["rtol"], atol=p["atol"])
    t_solve = time.perf_counter() - t0
    assert sol.success, sol.message
    w = sol.y[:, -1].reshape(n1, n0)
    np.savetxt(d / f"w_scipy_{variant}.csv", w, delimiter=",", fmt="%.17g")
    print(json.dumps({
        "variant": variant,
        "import_s": T_IMPORT - T_START,
        "read_s": t_read - T_IMPORT,
        "solve_s": t_solve,
        "nfev": int(sol.nfev),
        "steps": int(len(sol.t) - 1),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }))


if __name__ == "__main__":
    main()
