"""Atomic writes and one-line errors for missing or truncated artifacts."""

import h5py
import numpy as np
import pytest

from fooled.core import h5io


def test_atomic_h5_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError, match="killed"):
        with h5io.atomic_h5(target) as handle:
            handle.create_dataset("corners", data=np.zeros(3))
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_atomic_h5_writes_provenance_and_reads_back(tmp_path):
    source = tmp_path / "input.bin"
    source.write_bytes(b"abc")
    target = tmp_path / "sub" / "out.h5"
    settings = {"learning_rate": 0.01, "w_pos": 3.0}
    with h5io.atomic_h5(target) as handle:
        h5io.write_datasets(handle, {"corners": np.arange(10000, dtype=np.float32)})
        h5io.set_attrs(handle, h5io.provenance(settings, {"input": source}, {"collide": 7}))
    attrs = h5io.read_attrs(target)
    assert attrs["config_digest"] == h5io.config_digest({"w_pos": 3.0, "learning_rate": 0.01})
    assert attrs["seeds"] == {"collide": 7}
    assert attrs["input_checksums"] == {"input": h5io.sha256_file(source)}
    assert "numpy" in attrs["library_versions"]
    with h5py.File(target) as handle:
        assert handle["corners"].compression == "gzip"
    np.testing.assert_array_equal(
        h5io.read_arrays(target, ["corners"])["corners"], np.arange(10000)
    )


def test_truncated_and_missing_artifacts_are_named(tmp_path):
    target = tmp_path / "whole.h5"
    with h5io.atomic_h5(target) as handle:
        h5io.write_datasets(handle, {"corners": np.random.default_rng(0).normal(size=(200, 784))})
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    with pytest.raises(h5io.ArtifactError, match="truncated.h5"):
        h5io.read_arrays(truncated, ["corners"])
    with pytest.raises(h5io.ArtifactError, match="missing input artifact"):
        h5io.read_arrays(tmp_path / "absent.h5", ["corners"])
    with pytest.raises(h5io.ArtifactError, match="dataset 'loss_pos' is missing"):
        h5io.read_arrays(target, ["loss_pos"])


def test_read_attrs_gives_back_what_set_attrs_stored(tmp_path):
    """Dicts, lists (nested), None, numbers, text and numeric arrays round-trip; JSON text is
    decoded in read_attrs, so no reader calls json.loads on an attribute."""
    stored = {
        "rows": [{"epsilon": 0.25, "error_rate": 0.97, "auc": None}, {"epsilon": 0.1}],
        "nested": {"before": [{"n": 5, "error": 0.5}], "after": [], "tags": ["a", "b"]},
        "skipped": {},
        "no_rows": [],
        "mixed": [1, "two", 3.0],
        "absent": None,
        "name": "fc1",
        "bracketed": "[not json",
        "count": 7,
        "rate": 0.125,
        "flag": True,
        "hidden_units": [32, 16],
        "epsilons": np.array([0.1, 0.25]),
    }
    target = tmp_path / "attrs.h5"
    with h5io.atomic_h5(target) as handle:
        h5io.set_attrs(handle, stored)
    read = h5io.read_attrs(target)
    for key in (
        "rows",
        "nested",
        "skipped",
        "no_rows",
        "mixed",
        "absent",
        "name",
        "bracketed",
        "count",
    ):
        assert read[key] == stored[key], key
    assert read["rate"] == 0.125 and isinstance(read["count"], int) and read["flag"] is True
    np.testing.assert_array_equal(read["hidden_units"], [32, 16])  # numbers: a numeric array
    np.testing.assert_array_equal(read["epsilons"], stored["epsilons"])
    assert read["epsilons"].dtype == np.float64
