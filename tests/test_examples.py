"""The demo and the examples run end to end (short versions of the long runs)."""
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LAYERWISE_TEST_DATA") or ROOT.parent / "shared" / "data")
sys.path.insert(0, str(ROOT / "examples"))

from layerwise import demo as digits_demo  # noqa: E402
import mnist_cnn  # noqa: E402


def test_make_demo_reaches_97_percent_and_writes_its_outputs(tmp_path):
    lines = []
    model, history = digits_demo.main(["--out", str(tmp_path)], log=lines.append)
    assert history["test_acc"][-1] >= 0.97
    assert (tmp_path / "digits_cnn.safetensors").is_file()
    assert json.loads((tmp_path / "history.json").read_text())["test_acc"] == history["test_acc"]
    assert any("final test accuracy" in line for line in lines)


def test_mnist_cnn_short_run_learns(tmp_path):
    history = mnist_cnn.main(["--data", str(DATA / "mnist"), "--train-subset", "4096", "--epochs", "1",
                              "--model", "lenet5", "--lr", "1e-2", "--out", str(tmp_path)],
                             log=lambda *a: None)
    assert history["test_acc"][-1] > 0.85
    assert (tmp_path / "lenet5.safetensors").is_file()


def test_row_by_row_mnist_lstm_short_run_learns():
    import mnist_lstm
    history = mnist_lstm.main(["--data", str(DATA / "mnist"), "--train-subset", "3072", "--epochs", "1",
                               "--lr", "5e-3"],
                              log=lambda *a: None)
    assert history["test_acc"][-1] > 0.5          # chance is 0.1


def test_char_lstm_example_short_run(tmp_path):
    import char_lstm
    res = char_lstm.main(["--data", str(DATA / "tinyshakespeare"), "--steps", "40", "--eval-every", "20",
                          "--eval-batches", "4", "--hidden", "64", "--layers", "1", "--out", str(tmp_path)],
                         log=lambda *a: None)
    first, last = res["history"][0]["val_loss"], res["history"][-1]["val_loss"]
    assert last < first < 4.2 and (tmp_path / "checkpoint.safetensors").is_file()
