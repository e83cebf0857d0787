"""Vector-free L-BFGS: the same directions and iterates as the vector two-loop recursion, and O(m) scalars."""

from __future__ import annotations

import numpy as np
import pytest

from marketing360.errors import ParameterError
from marketing360.models import minimize, two_loop_coefficients
from marketing360.models.vlbfgs import NumpySpace, _weak_wolfe


def vector_two_loop(ss: list[np.ndarray], ys: list[np.ndarray], g: np.ndarray) -> np.ndarray:
    """Nocedal's recursion on the vectors themselves (Numerical Optimization, Algorithm 7.4)."""
    q = g.copy()
    alphas = []
    for s, y in zip(reversed(ss), reversed(ys)):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q -= a * y
    r = q * ((ss[-1] @ ys[-1]) / (ys[-1] @ ys[-1])) if ss else q
    for (s, y), a in zip(zip(ss, ys), reversed(alphas)):
        b = (y @ r) / (y @ s)
        r += s * (a - b)
    return -r


@pytest.mark.parametrize("k", [0, 1, 3, 7])
def test_dot_product_recursion_gives_the_vector_recursions_direction(k):
    rng = np.random.default_rng(k)
    d = 50
    a = rng.normal(size=(d, d))
    hess = a @ a.T + np.eye(d)
    ss = [rng.normal(size=d) for _ in range(k)]
    ys = [hess @ s for s in ss]  # curvature pairs of a convex quadratic: s . y > 0
    g = rng.normal(size=d)
    basis = np.array([*ss, *ys, g])
    delta = two_loop_coefficients(basis @ basis.T, k)
    np.testing.assert_allclose(delta @ basis, vector_two_loop(ss, ys, g), rtol=1e-10, atol=1e-12)


def logistic_problem(seed: int = 0, n: int = 400, d: int = 30):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ rng.normal(size=d)))).astype(float)

    def fun(theta):
        z = x @ theta
        loss = np.mean(np.logaddexp(0, z) - y * z) + 0.5e-2 * theta @ theta
        return loss, x.T @ (1 / (1 + np.exp(-z)) - y) / n + 1e-2 * theta

    return fun, d


def reference_lbfgs(fun, x0, memory, iters):
    """Plain L-BFGS with the vector recursion and the same step rule (first step of length 1, weak Wolfe)."""
    x, (f, g) = x0, fun(x0)
    ss, ys, out = [], [], [x0]
    for _ in range(iters):
        d = vector_two_loop(ss, ys, g)
        if not ss:
            d = d / np.linalg.norm(g)
        x_new, f, g_new, _ = _weak_wolfe(fun, NumpySpace(), x, d, f, float(d @ g))
        s, y = x_new - x, g_new - g
        if s @ y > 1e-12 * np.sqrt((s @ s) * (y @ y)):
            ss, ys = (ss + [s])[-memory:], (ys + [y])[-memory:]
        x, g = x_new, g_new
        out.append(x)
    return out


@pytest.mark.parametrize("memory", [1, 3, 10])
def test_iterates_equal_standard_lbfgs_iterate_for_iterate(memory):
    fun, d = logistic_problem()
    res = minimize(fun, np.zeros(d), space=NumpySpace(), memory=memory, max_iter=25, tol=0, gtol=0,
                   keep_iterates=True)
    ref = reference_lbfgs(fun, np.zeros(d), memory, len(res.iterates) - 1)
    assert len(res.iterates) >= 15
    # equal to rounding, elementwise, while the steps are longer than rounding; a step near the optimum (~1e-9 long)
    # is made of gradient differences at double precision's resolution, so each CPU's rounding moves it by up to
    # ~1e-10 of |x| (AMD EPYC: 2.3e-10, which failed the elementwise check there): such iterates are held to 1e-9
    # of |x| in norm, which a different recursion misses by far
    for it, (a, b) in enumerate(zip(res.iterates, ref)):
        if it == 0 or np.linalg.norm(b - ref[it - 1]) > 1e-6:
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"iterate {it}")
        else:
            assert np.linalg.norm(a - b) <= 1e-9 * max(np.linalg.norm(b), 1.0), f"iterate {it}"


def test_driver_traffic_is_o_of_m_scalars_whatever_the_dimension():
    per_iter = {}
    for d in (10, 2000):
        rng = np.random.default_rng(1)
        scale = rng.uniform(1, 50, d)
        res = minimize(lambda x: (0.5 * (scale * x) @ x - x.sum(), scale * x - 1), np.zeros(d), space=NumpySpace(),
                       memory=5, max_iter=40, tol=0, gtol=1e-12)
        per_iter[d] = res.scalars_per_iter
    m = 5
    assert all(v <= 6 * m + 10 for v in per_iter.values()), per_iter  # (2m+1) + (2m+2) + (2m+1) + line search


def test_owlqn_solves_a_lasso_in_closed_form():
    # min 1/2 |x - c|^2 + l1 |x[1:]|_1: soft thresholding, the first coordinate free
    c = np.array([3.0, 2.0, -0.5, 0.1, -4.0])
    res = minimize(lambda x: (0.5 * (x - c) @ (x - c), x - c), np.zeros(5), space=NumpySpace(), l1=1.0)
    np.testing.assert_allclose(res.x, [3.0, 1.0, 0.0, 0.0, -3.0], atol=1e-9)
    assert res.fun == pytest.approx(0.5 * (1 + 0.25 + 0.01 + 1) + 1 + 3, abs=1e-12)


def test_bad_settings():
    with pytest.raises(ParameterError, match="memory must be an integer >= 1"):
        minimize(lambda x: (0.0, x), np.zeros(2), space=NumpySpace(), memory=0)
    with pytest.raises(ParameterError, match="l1 must be >= 0"):
        minimize(lambda x: (0.0, x), np.zeros(2), space=NumpySpace(), l1=-1.0)
