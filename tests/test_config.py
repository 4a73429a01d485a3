"""Settings from the environment: the data directory, fast mode, epochs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import course_utils
from course_utils import config


def test_argument_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "from-env"))
    assert config.data_dir(tmp_path / "from-arg") == tmp_path / "from-arg"
    assert (tmp_path / "from-arg").is_dir()          # created on demand
    assert not (tmp_path / "from-env").exists()


def test_environment_variable_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "from-env"))
    assert config.data_dir() == tmp_path / "from-env"


def test_checkout_data_folder_is_the_default(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR")
    repo_data = Path(course_utils.__file__).resolve().parents[1] / "data"
    if not (repo_data / "README.md").is_file():
        pytest.skip("course_utils is not imported from a checkout with data/README.md")
    assert config.repo_data_dir() == repo_data
    assert config.data_dir() == repo_data


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "oops").write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        config.data_dir(tmp_path / "oops")


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("YES", True), (" On ", True),
    ("0", False), ("false", False), ("", False), ("no", False),
])
def test_fast_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert config.fast_mode() is expected


def test_fast_mode_is_off_when_unset():
    assert config.fast_mode() is False


def test_num_epochs(monkeypatch):
    assert config.num_epochs(5) == 5
    monkeypatch.setenv("COURSE_FAST", "1")
    assert config.num_epochs(5) == 1
    assert config.num_epochs(1) == 1


@pytest.mark.parametrize("bad", [0, -3])
def test_num_epochs_rejects_less_than_one(bad):
    with pytest.raises(ValueError, match="at least 1"):
        config.num_epochs(bad)


def test_num_epochs_rejects_non_integers_and_takes_numpy_integers():
    with pytest.raises(ValueError, match="num_epochs: epochs must be a whole number of at least 1, got 2.5"):
        config.num_epochs(2.5)
    with pytest.raises(TypeError, match="got '3', a number in quotes"):
        config.num_epochs("3")
    assert config.num_epochs(np.int64(3)) == 3 and type(config.num_epochs(np.int64(3))) is int


def test_constants_match_the_agreed_api():
    assert (config.DATA_DIR_ENV, config.FAST_ENV, config.SYNTHETIC_ENV) == (
        "COURSE_DATA_DIR", "COURSE_FAST", "COURSE_SYNTHETIC_FALLBACK")
    assert (config.FAST_TRAIN_PER_CLASS, config.FAST_TEST_PER_CLASS) == (100, 40)


def test_history_columns_are_defined_once_in_config():
    """train writes, and plot_history checks, columns from one definition."""
    from course_utils import training, training_plots
    assert config.HISTORY_COLUMNS == ["epoch", "batch", "examples", "seconds", "lr", "loss", "accuracy",
                                      "val_loss", "val_accuracy"]
    assert set(config.CORE_HISTORY_COLUMNS) <= set(config.HISTORY_COLUMNS)
    assert training.HISTORY_COLUMNS is config.HISTORY_COLUMNS
    assert training_plots.CORE_HISTORY_COLUMNS is config.CORE_HISTORY_COLUMNS


def test_speed_floor_defaults_and_environment(monkeypatch):
    assert config.speed_floor() == (1_000_000.0, 10.0) == (config.SPEED_FLOOR, config.SPEED_WINDOW)
    monkeypatch.setenv("COURSE_SPEED_FLOOR", "0")                  # 0: no floor
    monkeypatch.setenv("COURSE_SPEED_WINDOW", "2.5")
    assert config.speed_floor() == (0.0, 2.5)
    monkeypatch.setenv("COURSE_SPEED_FLOOR", "-1")
    with pytest.raises(ValueError, match="COURSE_SPEED_FLOOR must be a number of bytes per second.*'-1'"):
        config.speed_floor()


def test_user_mirrors_are_split_on_semicolons_and_checked(monkeypatch, tmp_path):
    assert config.user_mirrors() == []
    monkeypatch.setenv("COURSE_MIRRORS", f" https://data.example.edu/course/ ;{tmp_path}\n file:///srv/x ")
    assert config.user_mirrors() == ["https://data.example.edu/course/", str(tmp_path), "file:///srv/x"]
    monkeypatch.setenv("COURSE_MIRRORS", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="neither a folder here nor a URL"):
        config.user_mirrors()


def test_user_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.user_cache_dir() == tmp_path / "course-utils"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert config.user_cache_dir() == Path.home() / ".cache" / "course-utils"
