"""Atomic writes: a file appears whole or not at all, and a failed write leaves no temporary behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib import storage


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    storage.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with storage.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert storage.read_json(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_writers_keep_the_format_of_the_target_suffix(tmp_path):
    storage.write_npy(tmp_path / "q.npy", np.arange(3, dtype=np.float32))
    assert np.load(tmp_path / "q.npy").tolist() == [0, 1, 2]
    storage.write_csv_gz(tmp_path / "p.csv.gz", pd.DataFrame({"x": [1, 2]}))
    assert pd.read_csv(tmp_path / "p.csv.gz")["x"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv.gz", "q.npy"]
