"""MetricsLog: rows appended to CSV or JSON Lines, on disk after every row, new keys widen the
CSV header safely, and read_metrics gives back what was logged."""
import csv
import json
import math
import os

import numpy as np
import pytest

import layerwise as lw
from layerwise.tools.metrics import MetricsLog, read_metrics


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_round_trip_of_mixed_values(tmp_path, suffix):
    path = tmp_path / "runs" / f"m{suffix}"                  # the folder is created
    log = MetricsLog(path)
    log.log(epoch=1, loss=lw.tensor(0.5), acc=np.float32(0.75), n=np.int64(3), tag="warm-up")
    log.log({"epoch": 2, "loss": 0.1 + 0.2, "acc": float("nan"), "n": 4, "tag": "main",
             "best": True})
    rows = read_metrics(path)
    assert rows[0] == {"epoch": 1, "loss": 0.5, "acc": 0.75, "n": 3, "tag": "warm-up"}
    assert rows[1]["loss"] == 0.1 + 0.2                       # floats round-trip exactly
    assert math.isnan(rows[1]["acc"]) and rows[1]["best"] is True
    assert type(rows[1]["epoch"]) is int
    cols = read_metrics(path, columns=True)
    assert cols["epoch"] == [1, 2] and cols["best"] == [None, True]


def test_every_row_is_on_disk_when_log_returns(tmp_path):
    path = tmp_path / "m.jsonl"
    log = MetricsLog(path)
    for step in range(3):
        log.log(step=step, loss=1.0 / (step + 1))
        with open(path) as f:                                # another reader sees it at once
            lines = f.read().splitlines()
        assert len(lines) == step + 1 and json.loads(lines[-1])["step"] == step


def test_csv_new_keys_rewrite_the_header_and_keep_earlier_rows(tmp_path):
    path = tmp_path / "m.csv"
    log = MetricsLog(path)
    log.log(step=1, loss=0.9)
    log.log(step=2, loss=0.8, lr=0.01)                       # a new column
    log.log(lr=0.005, step=3)                                # a key missing, order changed
    with open(path, newline="") as f:
        raw = list(csv.reader(f))
    assert raw == [["step", "loss", "lr"], ["1", "0.9", ""], ["2", "0.8", "0.01"],
                   ["3", "", "0.005"]]
    assert read_metrics(path) == [{"step": 1, "loss": 0.9}, {"step": 2, "loss": 0.8, "lr": 0.01},
                                  {"step": 3, "lr": 0.005}]
    assert sorted(os.listdir(tmp_path)) == ["m.csv"]          # no temporary file left behind


def test_csv_cells_with_commas_quotes_and_newlines(tmp_path):
    path = tmp_path / "m.csv"
    MetricsLog(path).log(note='a, "b"\nc', x=1)
    assert read_metrics(path) == [{"note": 'a, "b"\nc', "x": 1}]


def test_reopening_appends_and_overwrite_starts_afresh(tmp_path):
    path = tmp_path / "m.csv"
    MetricsLog(path).log(step=1, loss=0.5)
    resumed = MetricsLog(path)                               # a resumed run knows the header
    assert resumed.columns == ["step", "loss"]
    resumed.log(step=2, loss=0.4)
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
    fresh = MetricsLog(path, overwrite=True)
    fresh.log(step=1, acc=0.9)
    assert read_metrics(path) == [{"step": 1, "acc": 0.9}]


def test_on_epoch_end_logs_the_last_row_of_a_fit_history(tmp_path):
    history = {"epoch": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [],
               "seconds": []}
    log = MetricsLog(tmp_path / "h.csv")
    for epoch in (1, 2):
        for key, value in (("epoch", epoch), ("train_loss", 1.0 / epoch), ("train_acc", 0.5 * epoch),
                           ("seconds", 0.1 * epoch)):
            history[key].append(value)
        log.on_epoch_end(epoch, history)                     # no test set: those keys stay out
    assert log.read(columns=True) == {"epoch": [1, 2], "train_loss": [1.0, 0.5],
                                      "train_acc": [0.5, 1.0], "seconds": [0.1, 0.2]}


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv or \.jsonl"):
        MetricsLog(tmp_path / "m.txt")
    log = MetricsLog(tmp_path / "m.jsonl")
    with pytest.raises(ValueError, match="empty"):
        log.log()
    with pytest.raises(ValueError, match="single value"):
        log.log(x=np.ones(3))
    with pytest.raises(TypeError, match="list"):
        log.log(x=[1, 2])
    assert read_metrics(tmp_path / "m.jsonl") == []


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_keep_rows_drops_what_a_predicate_refuses_atomically(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    log = MetricsLog(path)
    for step in range(1, 8):
        log.log(step=step, loss=1.0 / step)
    log.log(step=7, val_loss=0.5, note="x,y")                    # a new column, a comma
    assert log.keep_rows(lambda row: row["step"] <= 4) == 4
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3, 4]
    assert read_metrics(path)[2] == {"step": 3, "loss": 1.0 / 3}   # values unchanged
    log.log(step=5, loss=0.2)                                     # and the log goes on
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3, 4, 5]
    assert log.keep_rows(lambda row: True) == 0
    assert [f.name for f in tmp_path.iterdir()] == [path.name]    # no temporary file left
