"""Finding the public data sets: $M360_SHARED_DATA, a source checkout's ../shared/data, or shared/data above the cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketing360.datasets import shared
from marketing360.datasets.shared import SharedDataMissing, shared_data_dir, shared_file


def _data_folder(root: Path) -> Path:
    folder = root / "shared" / "data"
    (folder / "hillstrom").mkdir(parents=True)
    (folder / "hillstrom" / "hillstrom.csv").write_text("recency\n1\n")
    return folder


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """As if marketing360 were installed (no source checkout), no variable set, cwd in tmp_path."""
    monkeypatch.delenv("M360_SHARED_DATA", raising=False)
    monkeypatch.setattr(shared, "_source_checkout", lambda: None)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_variable_comes_first(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _data_folder(installed)  # also found from the cwd, but the variable wins
    other = _data_folder(installed / "elsewhere")
    monkeypatch.setenv("M360_SHARED_DATA", str(other))
    assert shared_data_dir() == other
    assert shared_file("hillstrom", "hillstrom.csv") == other / "hillstrom" / "hillstrom.csv"


def test_a_variable_naming_no_folder_is_an_error_naming_it(installed: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _data_folder(installed)
    monkeypatch.setenv("M360_SHARED_DATA", str(installed / "typo"))
    with pytest.raises(SharedDataMissing, match="M360_SHARED_DATA=.*typo names no folder"):
        shared_file("hillstrom", "hillstrom.csv")


def test_a_source_checkout_finds_shared_data_beside_it(installed: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _data_folder(installed / "work")
    monkeypatch.setattr(shared, "_source_checkout", lambda: installed / "work" / "repo")
    monkeypatch.chdir(Path("/"))
    assert shared_data_dir() == folder


def test_an_installed_package_finds_shared_data_in_the_cwd_or_a_parent(installed: Path,
                                                                       monkeypatch: pytest.MonkeyPatch
                                                                       ) -> None:
    folder = _data_folder(installed / "project")
    deep = installed / "project" / "notebooks" / "week1"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert shared_data_dir() == folder
    assert shared_file("hillstrom", "hillstrom.csv").read_text() == "recency\n1\n"
    monkeypatch.chdir(installed / "project")
    assert shared_data_dir() == folder


def test_no_data_anywhere_raises_shared_data_missing_naming_the_variable(installed: Path) -> None:
    assert not shared_data_dir().exists()
    assert shared_data_dir() == installed / "shared" / "data"
    with pytest.raises(SharedDataMissing, match="hillstrom/hillstrom.csv not found.*set M360_SHARED_DATA"):
        shared_file("hillstrom", "hillstrom.csv")
    with pytest.raises(FileNotFoundError):  # SharedDataMissing is a FileNotFoundError too
        shared_file("hillstrom", "hillstrom.csv")


def test_a_file_missing_from_a_found_folder_is_named(installed: Path) -> None:
    folder = _data_folder(installed)
    with pytest.raises(SharedDataMissing, match=f"cdnow/CDNOW_master.txt is not in {folder}"):
        shared_file("cdnow", "CDNOW_master.txt")


def test_this_repository_is_recognised_as_a_source_checkout() -> None:
    root = shared._source_checkout()
    assert root is not None and (root / "marketing360" / "datasets" / "shared.py").is_file()
