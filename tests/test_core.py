"""The core layer: jobs and stage logs, progress lines, artifact records, the Snakemake hook."""

import io
import json
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
from fooled.core.stage import Job, Names, notice, run_stage


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


def test_a_notice_reaches_the_log_and_the_job_s_stderr_as_one_line(tmp_path, capsys):
    log = tmp_path / "stage.log"
    run_stage("ingest", str(log), lambda logger: notice(logger, "ingest shard 0001: 1 of 9 files"))
    assert capsys.readouterr().err == "ingest shard 0001: 1 of 9 files\n"
    assert "WARNING ingest: ingest shard 0001: 1 of 9 files" in log.read_text()


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


def _everything_producible(path: Path) -> bool:
    return True


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
    found = integrity.survey([tmp_path / "results"])
    assert [damage.path for damage in found.damaged] == [path] and path.is_file()  # read-only
    lines = []
    targets = integrity.repair(
        found, dry_run=False, producible=_everything_producible, log=lines.append
    )
    assert targets == [str(path)] and not path.exists()
    assert (path.parent / "b.h5.damaged").is_file()
    assert lines and lines[0].startswith(f"{path}: damaged")
    assert not integrity.record_path(path).exists()


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_a_dry_run_moves_nothing(tmp_path):
    path = tmp_path / "results" / "d.h5"
    _artifact(path)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    touched = tmp_path / "results" / "touched.h5"
    _artifact(touched)
    os.utime(touched, ns=(7, 7))  # intact, record stale: refreshed by a run, not a dry run
    before = _listing(path.parent)
    lines = []
    targets = integrity.repair(
        integrity.survey([tmp_path]),
        dry_run=True,
        producible=_everything_producible,
        log=lines.append,
    )
    assert targets == [] and _listing(path.parent) == before
    assert "a run (not a dry run) moves it" in lines[0]
    integrity.repair(integrity.survey([tmp_path]), dry_run=False, producible=lambda _: True)
    assert integrity.survey([tmp_path]).touched == []


def test_a_file_moved_aside_stays_known_until_it_is_made_again(tmp_path):
    path = tmp_path / "results" / "e.h5"
    _artifact(path)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    integrity.repair(integrity.survey([tmp_path]), dry_run=False, producible=_everything_producible)
    # The run stopped before making it again: the next start still asks for it, dry or not.
    for dry_run in (True, False):
        found = integrity.survey([tmp_path])
        assert [damage.path for damage in found.damaged] == [path] and found.damaged[0].moved
        targets = integrity.repair(found, dry_run=dry_run, producible=_everything_producible)
        assert targets == [str(path)]
    _artifact(path)  # made again
    assert integrity.survey([tmp_path]).damaged == []


def test_damage_without_a_record_is_found_by_opening_the_file(tmp_path):
    h5 = tmp_path / "results" / "f.h5"
    _artifact(h5)
    integrity.record_path(h5).unlink()
    with open(h5, "r+b") as handle:
        handle.truncate(h5.stat().st_size // 2)
    keras_file = tmp_path / "results" / "model.keras"
    keras_file.write_bytes(os.urandom(20_000))
    good = tmp_path / "results" / "good.h5"
    _artifact(good)
    integrity.record_path(good).unlink()  # no record, but opens: not damaged
    found = {damage.path: damage.reason for damage in integrity.survey([tmp_path]).damaged}
    assert set(found) == {h5, keras_file}
    assert found[h5].startswith("not a readable HDF5 file")
    assert found[keras_file].startswith("not a readable Keras file")


def test_a_damaged_file_no_rule_makes_is_left_alone(tmp_path):
    path = tmp_path / "results" / "g.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not hdf5")
    lines = []
    targets = integrity.repair(
        integrity.survey([tmp_path]),
        dry_run=False,
        producible=lambda _: False,
        log=lines.append,
    )
    assert targets == [] and path.is_file() and "no rule of this configuration" in lines[0]


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


def test_two_runs_are_compared_result_by_result_timings_aside():
    from fooled.core.compare import compare, describe

    first = {
        "study": {"accuracy": 0.9731, "seconds": 12.0, "rows": [{"error": 0.25}], "name": "a"},
        "provenance": {"library_versions": {"numpy": "1"}},
    }
    same = {
        "study": {"accuracy": 0.9731, "seconds": 99.0, "rows": [{"error": 0.25}], "name": "a"},
        "provenance": {"library_versions": {"numpy": "2"}},
    }
    assert compare(first, same).identical and "bit for bit" in describe(compare(first, same))
    moved = json.loads(json.dumps(same))
    moved["study"]["rows"][0]["error"] = 0.25 * (1 + 3e-8)
    moved["study"]["extra"] = 1
    comparison = compare(first, moved)
    assert list(comparison.differing_numbers) == ["study.rows[0].error"]
    assert comparison.differing_numbers["study.rows[0].error"] == pytest.approx(3e-8, rel=1e-3)
    assert comparison.only_in_one == ["study.extra"] and comparison.n_numbers == 2
    assert "study: 1 numbers differ, at most 3e-08 relative" in describe(comparison)


def test_batches_split_members_in_order_and_name_each_members_job():
    from fooled.core import batches

    jobs = batches.split(["a", "b", "c", "d", "e"], 2, "micro")
    assert jobs == {"micro0": ["a", "b"], "micro1": ["c", "d"], "micro2": ["e"]}
    assert batches.owners(jobs) == {
        "a": "micro0",
        "b": "micro0",
        "c": "micro1",
        "d": "micro1",
        "e": "micro2",
    }
    assert batches.split([], 3, "models") == {}
