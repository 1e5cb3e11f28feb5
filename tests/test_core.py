"""The core layer: jobs and stage logs, progress lines, artifact records, the Snakemake hook."""

import io
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from fooled.core import h5io, integrity
from fooled.core.progress import Progress, format_seconds
from fooled.core.settings import config_fields
from fooled.core.snakemake_errors import PTH_LINE, install_pth, patch
from fooled.core.stage import Job, Names, run_stage


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_logs_figures_and_an_estimate_of_the_time_left(caplog):
    clock = Clock()
    logger = logging.getLogger("test_progress")
    with caplog.at_level(logging.INFO, logger="test_progress"):
        progress = Progress(100, "macro corners", "step", logger, min_interval=5, clock=clock)
        clock.now = 10.0
        progress.update(25, L_pos=12.5)
        clock.now = 12.0
        progress.update(5)  # within 5 s of the last line: not logged
        clock.now = 20.0
        progress.update(20)
        clock.now = 40.0
        progress.update(50, L_pos=4.0)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "macro corners: step 25/100; L_pos 12.5; 10.0 s elapsed, about 30.0 s left",
        "macro corners: step 50/100; 20.0 s elapsed, about 20.0 s left",
        "macro corners: step 100/100; L_pos 4; 40.0 s elapsed",
    ]


def test_a_resumed_progress_estimates_from_its_own_rate():
    clock = Clock()
    progress = Progress(1000, "x", clock=clock, stream=io.StringIO())
    progress.restart_at(900)
    clock.now = 10.0
    progress.update(50)
    assert progress.eta_seconds() == pytest.approx(10.0)


def test_format_seconds():
    assert format_seconds(5.25) == "5.2 s" or format_seconds(5.25) == "5.3 s"
    assert format_seconds(75) == "1 min 15 s"
    assert format_seconds(3 * 3600 + 125) == "3 h 02 min"


def test_a_bar_is_drawn_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, plain = Terminal(), io.StringIO()
    with Progress(10, "bar", stream=terminal) as progress:
        progress.update(10)
    with Progress(10, "bar", stream=plain) as progress:
        progress.update(10)
    assert "bar:" in terminal.getvalue() and "/10" in terminal.getvalue()
    assert plain.getvalue() == ""


def test_job_names_read_as_attributes_and_say_what_is_there():
    job = Job.make(input={"model": "m.keras"}, params={"settings": {"a": 1}})
    assert job.input.model == "m.keras" and job.params.settings == {"a": 1}
    assert isinstance(job.output, Names) and job.threads == 1
    with pytest.raises(AttributeError, match="no 'mnist' here"):
        _ = job.input.mnist


def test_run_stage_turns_an_expected_error_into_one_line(tmp_path, capsys):
    log = tmp_path / "stage.log"

    def body(logger):
        logger.info("working")
        raise ValueError("results/x.h5: dataset\n'corners' is missing")

    with pytest.raises(SystemExit) as stopped:
        run_stage("collide", str(log), body)
    assert stopped.value.code == 1
    assert capsys.readouterr().err == "collide: results/x.h5: dataset 'corners' is missing\n"
    text = log.read_text()
    assert "host" in text and "working" in text and "stage took" in text


def _artifact(path: Path) -> None:
    h5io.write_artifact(path, {"x": np.arange(100)}, h5io.provenance({"a": 1}), {"k": 1})


def test_an_artifact_records_its_checksum_and_a_truncation_is_found(tmp_path):
    path = tmp_path / "results" / "a.h5"
    _artifact(path)
    record = integrity.record_path(path)
    assert record.name == ".a.h5.sha256" and record.is_file()
    assert integrity.check(path) is None
    os.utime(path, ns=(1, 1))  # touched, same bytes: still good, record refreshed
    assert integrity.check(path) is None
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 100)
    assert "bytes where" in integrity.check(path)
    with pytest.raises(h5io.ArtifactError, match="not a readable HDF5 file.*delete it and rerun"):
        h5io.read_arrays(path, ["x"])


def test_a_changed_byte_is_found_and_the_damaged_file_moved_aside(tmp_path):
    path = tmp_path / "results" / "b.h5"
    _artifact(path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size - 10)
        handle.write(b"\xff")
    os.utime(path, ns=(5, 5))
    assert path.stat().st_size == size
    assert "SHA-256 differs" in integrity.check(path)
    lines = []
    moved = integrity.rebuild_damaged([tmp_path / "results"], log=lines.append)
    assert moved == [path] and not path.exists()
    assert (path.parent / "b.h5.damaged").is_file()
    assert lines and lines[0].startswith(f"{path}: damaged")
    assert not integrity.record_path(path).exists()


def test_stale_records_of_missing_files_are_dropped(tmp_path):
    path = tmp_path / "c.h5"
    _artifact(path)
    path.unlink()
    assert integrity.rebuild_damaged([tmp_path]) == []
    assert not integrity.record_path(path).exists()


def test_a_keras_file_cut_short_is_named_with_its_remedy(tmp_path):
    import keras

    from fooled.models import runtime

    inputs = keras.Input((3,))
    path = tmp_path / "model.keras"
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    runtime.load_model(path)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    with pytest.raises(ValueError, match=r"model.keras: not a readable Keras model file"):
        runtime.load_model(path)
    with pytest.raises(ValueError, match="model file missing"):
        runtime.load_model(tmp_path / "absent.keras")


def test_the_snakemake_hook_stops_with_one_line_naming_the_file(tmp_path, capsys):
    from snakemake.common import configfile

    patch(configfile)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a:\n  b: [1, 2\n  c: 3\n")
    missing = tmp_path / "nope.yaml"
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n")
    expected = {
        bad: f"Config error: {bad}: not valid YAML, line 3",
        missing: f"Config error: {missing}: file not found (looked for {missing})",
        listed: f"Config error: {listed}: a config file is a YAML mapping (keys at the top level)",
    }
    for path, line in expected.items():
        with pytest.raises(SystemExit) as caught:
            configfile.load_configfile(str(path))
        assert caught.value.code == 1
        printed = capsys.readouterr().err.splitlines()
        assert len(printed) == 1 and printed[0].startswith(line), printed
    good = tmp_path / "good.yaml"
    good.write_text("a: {b: 1}\n")
    assert configfile.load_configfile(str(good)) == {"a": {"b": 1}}


def test_the_hook_installs_as_a_pth_file(tmp_path):
    path = install_pth(str(tmp_path))
    assert path.read_text() == PTH_LINE
    # A fresh interpreter that reads this folder's .pth files gets the hook.
    code = (
        "import site, sys; site.addsitedir(sys.argv[1]);"
        "from snakemake.common import configfile;"
        "print(getattr(configfile, '_fooled_patched', False))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "True"


def test_h5_files_are_written_atomically(tmp_path):
    path = tmp_path / "d.h5"
    with pytest.raises(RuntimeError):
        with h5io.atomic_h5(path) as handle:
            handle["x"] = np.arange(3)
            raise RuntimeError("killed")
    assert not path.exists() and not list(tmp_path.iterdir())
    _artifact(path)
    with h5py.File(path) as handle:
        assert handle.attrs["k"] == 1


@dataclass(frozen=True)
class _Settings:
    rate: float
    steps: int


def test_config_fields_reads_the_fields_and_names_every_missing_key():
    assert config_fields(_Settings, {"rate": 0.5, "steps": 3, "other": 1}, "toy") == {
        "rate": 0.5,
        "steps": 3,
    }
    with pytest.raises(ValueError, match=r"^toy settings lack rate, steps$"):
        config_fields(_Settings, {"other": 1}, "toy")
