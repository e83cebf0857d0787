"""Adstock and saturation against independent formulas (scipy's Weibull, numpy's convolution, finite differences)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from marketing360.errors import ParameterError
from marketing360.incrementality.mmm.transforms import (
    adstock,
    adstock_weight_grads,
    adstock_weights,
    saturation,
    saturation_grad,
)


def test_geometric_weights_and_convolution_equal_numpy():
    w = adstock_weights("geometric", {"theta": 0.4}, l_max=8, normalize=True)
    ref = 0.4 ** np.arange(8)
    np.testing.assert_allclose(w, ref / ref.sum())
    x = np.random.default_rng(0).uniform(size=(30, 3))
    got = adstock(x, w)
    for j in range(3):
        np.testing.assert_allclose(got[:, j], np.convolve(x[:, j], w)[:30])


def test_weibull_weights_equal_scipy():
    shape, scale = 1.7, 2.5
    cdf = adstock_weights("weibull_cdf", {"shape": shape, "scale": scale}, l_max=6, normalize=False)
    sf = stats.weibull_min.sf(np.arange(1, 6), shape, scale=scale)
    np.testing.assert_allclose(cdf, np.concatenate([[1.0], np.cumprod(sf)]))
    pdf = adstock_weights("weibull_pdf", {"shape": shape, "scale": scale}, l_max=6, normalize=False)
    dens = stats.weibull_min.pdf(np.arange(1, 7), shape, scale=scale)
    np.testing.assert_allclose(pdf, dens / dens.max())


def test_saturations_equal_their_formulas():
    a = np.array([0.0, 0.3, 1.0, 4.0])
    np.testing.assert_allclose(saturation("logistic", a, {"lam": 3.0}), (1 - np.exp(-3 * a)) / (1 + np.exp(-3 * a)))
    with np.errstate(divide="ignore"):
        ref = a ** 2.2 / (a ** 2.2 + 1.5 ** 2.2)
    np.testing.assert_allclose(saturation("hill", a, {"half": 1.5, "slope": 2.2}), ref)


@pytest.mark.parametrize("kind,params", [("hill", {"half": 1.3, "slope": 1.7}), ("hill", {"half": 0.8, "slope": 1.0}),
                                         ("logistic", {"lam": 2.5})])
def test_saturation_gradients_equal_finite_differences(kind, params):
    a = np.array([0.2, 0.9, 2.5])
    d_a, d_p = saturation_grad(kind, a, params)
    h = 1e-6
    np.testing.assert_allclose(d_a, (saturation(kind, a + h, params) - saturation(kind, a - h, params)) / (2 * h),
                               rtol=1e-5)
    for name in params:
        up, down = dict(params), dict(params)
        up[name] += h
        down[name] -= h
        np.testing.assert_allclose(d_p[name], (saturation(kind, a, up) - saturation(kind, a, down)) / (2 * h),
                                   rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("kind,params", [("geometric", {"theta": 0.55}), ("weibull_cdf", {"shape": 1.4, "scale": 2.0}),
                                         ("weibull_pdf", {"shape": 2.1, "scale": 3.0})])
@pytest.mark.parametrize("normalize", [True, False])
def test_weight_gradients_equal_finite_differences(kind, params, normalize):
    grads = adstock_weight_grads(kind, params, l_max=7, normalize=normalize)  # type: ignore[arg-type]
    h = 1e-5
    for name in params:
        up, down = dict(params), dict(params)
        up[name] += h
        down[name] -= h
        ref = (adstock_weights(kind, up, l_max=7, normalize=normalize)  # type: ignore[arg-type]
               - adstock_weights(kind, down, l_max=7, normalize=normalize)) / (2 * h)  # type: ignore[arg-type]
        np.testing.assert_allclose(grads[name], ref, rtol=1e-4, atol=1e-9)


def test_bad_transform_settings_are_named():
    with pytest.raises(ParameterError, match="theta must be in"):
        adstock_weights("geometric", {"theta": 1.2}, l_max=3)
    with pytest.raises(ParameterError, match="adstock must be one of"):
        adstock_weights("delayed", {}, l_max=3)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="l_max"):
        adstock_weights("geometric", {"theta": 0.2}, l_max=0)
    with pytest.raises(ParameterError, match="missing"):
        adstock_weights("weibull_cdf", {"shape": 1.0}, l_max=3)
    with pytest.raises(ParameterError, match="saturation must be one of"):
        saturation("tanh", np.ones(2), {})  # type: ignore[arg-type]
