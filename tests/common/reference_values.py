#!/usr/bin/env python3
"""Independent check of the reference values typed into tests/common/models.rs.

Solves ROBER, VDPOL (eps = 1e-6), HIRES and OREGO with SciPy's Radau (analytic
Jacobian) and LSODA at rtol = 1e-12 (and DOP853 on the short, non-stiff spans),
integrating segment by segment so that every reported value is a step end point
(no dense output), and prints for each reference time the values, the number of
digits on which the solvers agree, and the digits shared with the published values
of the IVP test set (Mazzia & Magherini) at the end time. Run:

    pip install numpy scipy && python3 tests/common/reference_values.py

It is not run by `cargo test`; it documents where the numbers come from.
"""
import numpy as np
from scipy.integrate import solve_ivp

RTOL = 1e-12


def rober(t, y):
    return [-0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2]


def rober_jac(t, y):
    return [[-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0]]


EPS = 1e-6


def vdpol(t, y):
    return [y[1], ((1 - y[0] ** 2) * y[1] - y[0]) / EPS]


def vdpol_jac(t, y):
    return [[0.0, 1.0], [(-2 * y[0] * y[1] - 1) / EPS, (1 - y[0] ** 2) / EPS]]


def hires(t, y):
    f7 = 280 * y[5] * y[7] - 1.81 * y[6]
    return [-1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
            1.71 * y[0] - 8.75 * y[1],
            -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
            8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
            -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
            -280 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
            f7, -f7]


def hires_jac(t, y):
    j = np.zeros((8, 8))
    j[0, :3] = [-1.71, 0.43, 8.32]
    j[1, :2] = [1.71, -8.75]
    j[2, 2:5] = [-10.03, 0.43, 0.035]
    j[3, 1:4] = [8.32, 1.71, -1.12]
    j[4, 4:7] = [-1.745, 0.43, 0.43]
    j[5, 3:8] = [0.69, 1.71, -0.43 - 280 * y[7], 0.69, -280 * y[5]]
    j[6, 5:8] = [280 * y[7], -1.81, 280 * y[5]]
    j[7] = -j[6]
    return j


def orego(t, y):
    return [77.27 * (y[1] + y[0] * (1 - 8.375e-6 * y[0] - y[1])),
            (y[2] - (1 + y[0]) * y[1]) / 77.27,
            0.161 * (y[0] - y[2])]


def orego_jac(t, y):
    return [[77.27 * (1 - 2 * 8.375e-6 * y[0] - y[1]), 77.27 * (1 - y[0]), 0.0],
            [-y[1] / 77.27, -(1 + y[0]) / 77.27, 1 / 77.27],
            [0.161, 0.0, -0.161]]


def kaps(eps):
    def f(t, y):
        return [-(2 + 1 / eps) * y[0] + y[1] ** 2 / eps, y[0] - y[1] - y[1] ** 2]
    return f


# Published values at the end time (IVP test set, Mazzia & Magherini; rober.f,
# vdpol.f, hires.f, orego.f, computed with RADAU5 in extended precision).
PUBLISHED = {
    "rober": (1e11, [0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050]),
    "vdpol": (2.0, [0.1706167732170483e+01, -0.8928097010247975e+00]),
    "hires": (321.8122, [0.7371312573325668e-3, 0.1442485726316185e-3,
                         0.5888729740967575e-4, 0.1175651343283149e-2,
                         0.2386356198831331e-2, 0.6238968252742796e-2,
                         0.2849998395185769e-2, 0.2850001604814231e-2]),
    "orego": (360.0, [0.1000814870318523e+01, 0.1228178521549917e+04,
                      0.1320554942846706e+03]),
}

# name: (f, jac, y0, reference times, atol, short span run by DOP853 too)
PROBLEMS = {
    "rober": (rober, rober_jac, [1.0, 0.0, 0.0], [0.4, 4.0, 40.0, 1e11],
              [1e-22, 1e-26, 1e-22], 40.0),
    "vdpol": (vdpol, vdpol_jac, [2.0, 0.0], [0.001, 0.002, 0.5, 1.0, 1.5, 2.0], 1e-16, 0.002),
    "hires": (hires, hires_jac, [1, 0, 0, 0, 0, 0, 0, 0.0057], [1.0, 5.0, 10.0, 321.8122],
              1e-20, 10.0),
    "orego": (orego, orego_jac, [1.0, 2.0, 3.0],
              [0.25, 0.5] + [30.0 * k for k in range(1, 13)], 1e-16, 0.5),
}


def solve(f, jac, y0, times, atol, method):
    y, t, out = np.array(y0, float), 0.0, []
    for te in times:
        kw = dict(jac=jac) if method != "DOP853" else {}
        s = solve_ivp(f, [t, te], y, method=method, rtol=RTOL, atol=atol, **kw)
        assert s.status == 0, s.message
        y, t = s.y[:, -1], te
        out.append(y.copy())
    return out


def digits(a, b):
    """Smallest number of agreeing significant digits over the components."""
    a, b = np.asarray(a), np.asarray(b)
    rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    return -np.log10(max(rel.max(), 1e-17))


def main():
    for name, (f, jac, y0, times, atol, short) in PROBLEMS.items():
        print(f"== {name}")
        radau = solve(f, jac, y0, times, atol, "Radau")
        lsoda = solve(f, jac, y0, times, atol, "LSODA")
        short_times = [t for t in times if t <= short]
        dop = solve(f, None, y0, short_times, atol, "DOP853")
        for k, t in enumerate(times):
            line = f"t = {t!r}: " + ", ".join(f"{v:.16e}" for v in radau[k])
            line += f"\n   Radau vs LSODA {digits(lsoda[k], radau[k]):.1f} digits"
            if k < len(dop):
                line += f", Radau vs DOP853 {digits(dop[k], radau[k]):.1f} digits"
            tp, yp = PUBLISHED[name]
            if t == tp:
                line += (f", published vs Radau {digits(radau[k], yp):.1f},"
                         f" vs LSODA {digits(lsoda[k], yp):.1f} digits")
            print(line)
    # Kaps: closed form y1 = exp(-2t), y2 = exp(-t) for every eps.
    for eps in [1.0, 1e-6]:
        y = solve(kaps(eps), None, [1.0, 1.0], [1.0], 1e-20, "Radau")[0]
        print(f"kaps eps {eps}: Radau vs closed form "
              f"{digits(y, [np.exp(-2.0), np.exp(-1.0)]):.1f} digits")


if __name__ == "__main__":
    main()
