"""The sample world: built on first use into a cache, atomically, with the recorded checksum.

One test builds the full sample from scratch (about 1.5 minutes on two cores)
and checks it against :data:`SAMPLE_CHECKSUM`; the cache mechanics (folder
names, crashes, a concurrent build, the command line) are checked on a tiny
world by swapping in small parameters.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from marketing360 import cli
from marketing360.datasets import samples
from marketing360.datasets.result import SimulationResult
from marketing360.datasets.samples import (
    SAMPLE_CHECKSUM,
    SampleMismatchWarning,
    cache_dir,
    load_sample,
    sample_checksum,
    sample_dir,
    write_sample,
)
from marketing360.datasets.simulator import SIMULATOR_VERSION
from marketing360.errors import Marketing360Error

# a tiny world's checksum is not the recorded one: the warning is expected where it is not checked
pytestmark = pytest.mark.filterwarnings("ignore::marketing360.datasets.samples.SampleMismatchWarning")

TINY = dict(n_users=150, n_days=10, n_brands=4, n_categories=2, n_geos=3, truth="incremental",
            seed=7, start="2025-03-01")


# ------------------------------------------------------------------ the real sample


@pytest.fixture(scope="module")
def built_sample(tmp_path_factory):
    """The sample world built from scratch in an empty cache folder: the user's own when it holds no sample yet
    (on a fresh machine the rest of the run then reads it, instead of simulating it a second time), else a
    temporary one."""
    cached = (sample_dir() / "sample.json").is_file()
    with pytest.MonkeyPatch.context() as mp:
        if cached:
            mp.setenv("M360_CACHE", str(tmp_path_factory.mktemp("cache")))
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            world = load_sample()
        seconds = time.perf_counter() - t0
        yield world, sample_dir(), caught, seconds


@pytest.mark.slow
def test_the_sample_built_from_scratch_has_the_recorded_checksum(built_sample):
    world, root, caught, seconds = built_sample
    assert not [w for w in caught if issubclass(w.category, SampleMismatchWarning)]
    manifest = json.loads((root / "sample.json").read_text())
    assert manifest["checksum"] == SAMPLE_CHECKSUM
    assert manifest["simulator_version"] == SIMULATOR_VERSION
    # the world read back from the cache's parquet files has the same content
    assert sample_checksum(world) == SAMPLE_CHECKSUM
    assert world.config["n_users"] == 12_000 and world.config["n_days"] == 90
    assert len(world.events) > 2_000_000
    assert world.truth.shapley.conversions.sum() == pytest.approx(world.truth.totals["incremental_conversions"])
    print(f"first build of the sample world: {seconds:.1f} s")


@pytest.mark.slow
def test_later_loads_read_the_cache_without_simulating(built_sample, monkeypatch):
    world, root, _, _ = built_sample
    monkeypatch.setenv("M360_CACHE", str(root.parent))

    def boom(**kwargs):
        raise AssertionError("simulate() called although the sample is cached")

    monkeypatch.setattr(samples, "simulate", boom)
    again = load_sample()
    assert sample_checksum(again) == SAMPLE_CHECKSUM
    assert len(again.events) == len(world.events)


# ------------------------------------------------------------------ cache mechanics on a tiny world


@pytest.fixture
def tiny(monkeypatch, tmp_path) -> Path:
    """A tiny SAMPLE_PARAMS and an empty cache folder."""
    monkeypatch.setattr(samples, "SAMPLE_PARAMS", dict(TINY))
    monkeypatch.setenv("M360_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_folder_from_the_variable_or_the_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("M360_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("M360_CACHE")
    monkeypatch.setattr(samples.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "marketing360"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "marketing360"
    monkeypatch.setattr(samples.sys, "platform", "darwin")
    assert cache_dir() == Path.home() / "Library" / "Caches" / "marketing360"


def test_folder_name_holds_the_version_and_a_hash_of_the_parameters(tiny, monkeypatch):
    name = sample_dir().name
    assert name.startswith(f"sample-world-v{SIMULATOR_VERSION}-") and len(name.rsplit("-", 1)[1]) == 12
    assert sample_dir().parent == tiny
    monkeypatch.setattr(samples, "SAMPLE_PARAMS", {**TINY, "seed": 8})
    assert sample_dir().name != name
    monkeypatch.setattr(samples, "SIMULATOR_VERSION", SIMULATOR_VERSION + 1)
    assert sample_dir().name.startswith(f"sample-world-v{SIMULATOR_VERSION + 1}-")


def test_first_use_builds_and_caches_a_deterministic_world(tiny):
    with pytest.warns(SampleMismatchWarning, match="not the recorded"):
        first = load_sample()
    root = sample_dir()
    assert (root / "world.json").is_file() and (root / "sample.json").is_file()
    assert [p.name for p in tiny.iterdir()] == [root.name]  # no temporary folder left
    expected = sample_checksum(samples.simulate(**TINY))
    assert json.loads((root / "sample.json").read_text())["checksum"] == expected
    assert sample_checksum(first) == sample_checksum(load_sample()) == expected


def test_a_crash_while_writing_leaves_nothing_that_loads(tiny, monkeypatch):
    real_write = SimulationResult.write

    def crash(self, path):
        Path(path, "truth").mkdir(parents=True, exist_ok=True)
        Path(path, "world.json").write_text("{}")  # a half-written world
        raise OSError("disk full")

    monkeypatch.setattr(SimulationResult, "write", crash)
    with pytest.raises(OSError, match="disk full"):
        load_sample()
    assert not sample_dir().exists()
    assert list(tiny.iterdir()) == []  # the temporary folder is gone too
    monkeypatch.setattr(SimulationResult, "write", real_write)
    assert load_sample().config["n_users"] == TINY["n_users"]


def test_a_killed_build_leaves_a_temporary_folder_that_is_ignored_then_removed(tiny):
    root = sample_dir()
    tiny.mkdir(parents=True)
    stale = tiny / f".{root.name}.abc123.tmp"
    (stale / "truth").mkdir(parents=True)
    (stale / "world.json").write_text("{}")
    old = time.time() - 2 * samples._STALE_SECONDS
    os.utime(stale, (old, old))
    world = load_sample()
    assert world.config["seed"] == TINY["seed"]
    assert not stale.exists()
    assert [p.name for p in tiny.iterdir()] == [root.name]


def test_a_concurrent_build_that_finishes_first_is_used(tiny, monkeypatch):
    real_simulate = samples.simulate

    def other_process_wins(**kwargs):
        world = real_simulate(**kwargs)
        root = sample_dir()
        world.write(root)  # the other process's complete build lands first
        samples._write_manifest(root, "from-the-other-process")
        return world

    monkeypatch.setattr(samples, "simulate", other_process_wins)
    world = load_sample()
    manifest = json.loads((sample_dir() / "sample.json").read_text())
    assert manifest["checksum"] == "from-the-other-process"
    assert world.config["n_users"] == TINY["n_users"]
    assert [p.name for p in tiny.iterdir()] == [sample_dir().name]


def test_write_sample_to_a_folder_and_load_it_back(tiny, tmp_path):
    out = write_sample(tmp_path / "world")
    assert out == tmp_path / "world"
    back = load_sample(out)
    assert sample_checksum(back) == json.loads((out / "sample.json").read_text())["checksum"]
    assert not sample_dir().exists()  # the cache is not touched
    with pytest.raises(Marketing360Error, match="no sample world at .*python -m marketing360 sample --out"):
        load_sample(tmp_path / "nowhere")


def test_command_line_writes_the_sample_and_prints_its_checksum(tiny, tmp_path, capsys):
    assert cli.main(["sample", "--out", str(tmp_path / "w"), "--checksum"]) == 0
    out = capsys.readouterr().out
    checksum = json.loads((tmp_path / "w" / "sample.json").read_text())["checksum"]
    assert f"checksum {checksum}: NOT the recorded" in out
    assert cli.main(["sample"]) == 0  # fills the cache
    assert (sample_dir() / "sample.json").is_file()
    assert str(sample_dir()) in capsys.readouterr().out



def _no_simulation(**kwargs):
    raise AssertionError("simulate() called: the folder should have been refused first")


def test_a_foreign_cache_folder_is_named_before_anything_is_simulated(tiny, monkeypatch):
    # was: two minutes of simulation, then a bare "OSError: Directory not empty"
    root = sample_dir()
    root.mkdir(parents=True)
    (root / "world.json").write_text("{}")  # copied by hand, no sample.json
    monkeypatch.setattr(samples, "simulate", _no_simulation)
    with pytest.raises(Marketing360Error, match=f"{root}.*no sample.json.*remove it"):
        load_sample()
    assert [p.name for p in root.iterdir()] == ["world.json"]  # left as it was


def test_an_empty_cache_folder_is_built_in(tiny):
    sample_dir().mkdir(parents=True)
    assert load_sample().config["n_users"] == TINY["n_users"]
    assert (sample_dir() / "sample.json").is_file()


def test_write_sample_refuses_a_folder_of_other_files_before_simulating(tiny, tmp_path, monkeypatch):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    monkeypatch.setattr(samples, "simulate", _no_simulation)
    with pytest.raises(Marketing360Error, match="notes.txt"):
        write_sample(tmp_path / "mine")


def test_write_sample_over_a_world_replaces_it(tiny, tmp_path):
    out = tmp_path / "w"
    SimulationResult.write(samples.simulate(n_users=90, n_days=7, seed=1, truth="full",
                                            channels=["search", "video"]), out)
    write_sample(out)
    back = load_sample(out)
    assert back.config["n_users"] == TINY["n_users"] and back.truth.shapley is None  # TINY: truth="incremental"
    assert (out / "sample.json").is_file()


def test_the_checksum_ignores_the_planted_funnels_last_bits_but_not_a_real_change():
    """The planted funnel's sums differ in their last bits between CPUs (AVX-512 vs AVX2: 1.5e-10 relative on the
    sample world); the checksum reads them to 4 significant digits, every other float to 1e-6."""
    from marketing360.datasets import simulate

    w = simulate(**TINY)
    assert w.truth.funnel is not None and len(w.truth.funnel)
    base, expected = sample_checksum(w), w.truth.funnel["expected"].copy()
    w.truth.funnel["expected"] = expected * (1 + 1.5e-10)
    assert sample_checksum(w) == base
    w.truth.funnel["expected"] = expected.where(expected.index != 0, expected * 1.01)
    assert sample_checksum(w) != base
    w.truth.funnel["expected"] = expected  # back, then a change elsewhere
    assert sample_checksum(w) == base
    w.events.loc[w.events.index[0], "ts"] += pd.Timedelta(seconds=1)
    assert sample_checksum(w) != base
