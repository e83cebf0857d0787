"""Long steps say what they do in a notebook (progress="auto"), and stay quiet in scripts and tests."""

from __future__ import annotations

import pytest

import marketing360 as m3
from marketing360 import _progress
from marketing360.errors import ParameterError


def test_auto_means_on_in_a_notebook_only(monkeypatch):
    assert _progress.show("auto") is False  # pytest is no Jupyter kernel
    monkeypatch.setattr(_progress, "in_notebook", lambda: True)
    assert _progress.show("auto") is True
    assert _progress.show(False) is False
    with pytest.raises(ParameterError, match="progress must be"):
        _progress.show("yes")


def test_simulate_shows_a_bar_in_a_notebook(monkeypatch, capsys):
    m3.datasets.simulate(n_users=50, n_days=5, seed=1, truth="none")
    assert "simulating" not in capsys.readouterr().err
    monkeypatch.setattr(_progress, "in_notebook", lambda: True)
    m3.datasets.simulate(n_users=50, n_days=5, seed=1, truth="none")
    assert "simulating blocks" in capsys.readouterr().err
