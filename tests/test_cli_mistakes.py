"""Every user mistake the hardening issue found in the command line is one sentence and exit
status 2, checked before any work starts; interrupted runs leave a checkpoint and resume with a
metrics log that holds each step once.  Small models (patched defaults) and files built in
tmp_path keep it fast."""
import dataclasses
import os
from pathlib import Path

import pytest
import torch

import layerwise as lw
from layerwise.cli import main
from layerwise.models import charlstm, gpt
from layerwise.tools import metrics as metrics_module
from layerwise.tools.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LAYERWISE_TEST_DATA") or ROOT.parent / "shared" / "data")
TEXT = str(DATA / "tinyshakespeare")
READ_ONLY = "/sys/layerwise-test-out"      # not writable even by root


@pytest.fixture
def tiny_lstm(monkeypatch):
    """char-lstm at a size that trains in milliseconds."""
    for key, value in dict(embed=8, hidden=16, layers=1, block_size=16, batch_size=4,
                           warmup=2).items():
        monkeypatch.setitem(charlstm.LSTM_DEFAULTS, key, value)


@pytest.fixture
def tiny_gpt(monkeypatch):
    @dataclasses.dataclass
    class Tiny(gpt.GPTConfig):
        n_layer: int = 1
        n_head: int = 2
        n_embd: int = 16
        block_size: int = 16
        batch_size: int = 4
        warmup_iters: int = 2
        log_interval: int = 0
    monkeypatch.setattr(gpt, "GPTConfig", Tiny)


def refused(capsys, argv):
    """The command is refused: exit status 2 (from the parser or the command), one line on
    stderr, no traceback; returns the line."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("layerwise") and ": error: " in err, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


# ------------------------------------------------------------------ arguments out of range
BAD_ARGUMENTS = [
    (["train", "digits-cnn", "--batch-size", "0"], "--batch-size"),
    (["train", "digits-cnn", "--batch-size", "-1"], "--batch-size"),
    (["train", "digits-cnn", "--lr", "-1"], "--lr"),
    (["train", "digits-cnn", "--lr", "nan"], "--lr"),
    (["train", "digits-cnn", "--lr", "inf"], "--lr"),
    (["train", "char-lstm", "--steps", "-3"], "--steps"),
    (["train", "digits-cnn", "--steps", "-5"], "--steps"),          # trained one step before
    (["train", "digits-cnn", "--steps", "0"], "--steps"),
    (["train", "digits-cnn", "--epochs", "-1"], "--epochs"),        # claimed a checkpoint
    (["train", "digits-cnn", "--checkpoint-every", "-1"], "--checkpoint-every"),  # every step
    (["train", "digits-cnn", "--seed", "-1"], "--seed"),
    (["train", "digits-cnn", "--epochs", "two"], "--epochs"),
    (["generate", "x.safetensors", "--temperature", "nan"], "--temperature"),
    (["generate", "x.safetensors", "--temperature", "0"], "--temperature"),
    (["generate", "x.safetensors", "--length", "-5"], "--length"),  # exited 0 before
    (["generate", "x.safetensors", "--top-k", "0"], "--top-k"),     # exited 0 before
    (["generate", "x.safetensors", "--top-k", "-1"], "--top-k"),    # exited 0 before
    (["bench", "--threads", "0"], "--threads"),
    (["bench", "--repeats", "0"], "--repeats"),
    (["demo", "--epochs", "0"], "--epochs"),
]


@pytest.mark.parametrize("argv, option", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_an_argument_out_of_range_is_refused_before_anything_runs(argv, option, capsys, tmp_path):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if argv[0] in ("train", "demo") else []
    err = refused(capsys, argv + extra)
    assert f"argument {option}" in err and "expected" in err
    assert not out.exists()                                         # nothing was started


def test_epochs_for_a_character_model_is_refused(capsys, tmp_path):
    err = refused(capsys, ["train", "char-lstm", "--epochs", "2", "--out", str(tmp_path / "o")])
    assert "char-lstm trains for a number of steps" in err and not (tmp_path / "o").exists()


# ------------------------------------------------------------------ unusable output folders
def _out_cases(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {"a file": (str(a_file), "is a file, not a folder"),
            "under a file": (str(a_file / "run"), "cannot write there"),
            "read-only": (READ_ONLY, "cannot write there")}


@pytest.mark.parametrize("case", ["a file", "under a file", "read-only"])
@pytest.mark.parametrize("command", [["train", "digits-cnn"], ["train", "char-lstm", "--data", TEXT],
                                     ["demo"]], ids=["digits-cnn", "char-lstm", "demo"])
def test_an_unusable_out_folder_is_one_sentence(command, case, capsys, tmp_path):
    path, words = _out_cases(tmp_path)[case]
    err = refused(capsys, command + ["--out", path])
    assert f"--out {path}: {words}" in err


# ------------------------------------------------------------------ damaged text data
@pytest.mark.parametrize("model", ["char-lstm", "char-gpt"])
@pytest.mark.parametrize("content", [b"", b"To be, or not to be\n"], ids=["empty", "another text"])
def test_an_empty_or_different_input_txt_is_one_sentence(model, content, capsys, tmp_path):
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "input.txt").write_bytes(content)
    err = refused(capsys, ["train", model, "--data", str(folder), "--out", str(tmp_path / "o")])
    assert f"--data {folder}" in err and "corrupt or not the original file" in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ checkpoints that cannot be resumed
@pytest.fixture
def checkpoints(tmp_path, capsys, tiny_lstm):
    """A good checkpoint of each kind and damaged copies of it."""
    made = {}
    assert main(["train", "digits-cnn", "--steps", "2", "--out", str(tmp_path / "digits")]) == 0
    made["digits-cnn"] = tmp_path / "digits" / "checkpoint.safetensors"
    assert main(["train", "char-lstm", "--steps", "3", "--data", TEXT, "--out",
                 str(tmp_path / "lstm")]) == 0
    made["char-lstm"] = tmp_path / "lstm" / "checkpoint.safetensors"
    capsys.readouterr()
    return made


def damaged(path, how, tmp_path, other):
    good = path.read_bytes()
    bad = tmp_path / f"{how}.safetensors"
    if how == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif how == "bit-flipped":
        b = bytearray(good)
        b[-100] ^= 0x08                                     # in the tensor data
        bad.write_bytes(bytes(b))
    elif how == "garbage":
        bad.write_bytes(os.urandom(500))
    elif how == ".pt":
        bad = tmp_path / "weights.pt"
        torch.save({"weight": torch.zeros(3, 2)}, bad)
    elif how == "other-model":
        bad = other
    return bad


DAMAGE = ["truncated", "bit-flipped", "garbage", ".pt", "other-model"]


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("model", ["digits-cnn", "char-lstm"])
def test_resuming_a_damaged_or_foreign_checkpoint_is_one_sentence(model, how, checkpoints,
                                                                  capsys, tmp_path):
    other = checkpoints["char-lstm" if model == "digits-cnn" else "digits-cnn"]
    bad = damaged(checkpoints[model], how, tmp_path, other)
    argv = ["train", model, "--resume", str(bad), "--out", str(tmp_path / "resumed")]
    if model == "char-lstm":
        argv += ["--data", TEXT]
    err = refused(capsys, argv)
    assert err.startswith(f"layerwise: error: --resume {bad}: "), err
    assert not (tmp_path / "resumed").exists()                    # a refused run creates nothing


def test_resuming_an_image_checkpoint_of_another_image_model_names_the_mismatch(capsys, tmp_path):
    from layerwise.io import save_training_checkpoint
    from layerwise.models.zoo import mnist_small_cnn
    net = mnist_small_cnn()
    other = tmp_path / "small.safetensors"
    save_training_checkpoint(other, model=net, optimizer=lw.optim.AdamW(net.parameters()),
                             step=1, epoch=1)
    err = refused(capsys, ["train", "digits-cnn", "--resume", str(other), "--out",
                           str(tmp_path / "o")])
    assert "does not hold a digits-cnn training run" in err


def test_resuming_a_finished_or_older_char_lstm_run_is_one_sentence(checkpoints, capsys, tmp_path):
    err = refused(capsys, ["train", "char-lstm", "--data", TEXT, "--resume",
                           str(checkpoints["char-lstm"]), "--out", str(tmp_path / "o")])
    assert "already finished its 3 steps" in err
    ck = lw.load(checkpoints["char-lstm"])
    ck["scheduler"] = None                                 # as written before schedulers
    ck["step"] = 1
    older = tmp_path / "older.safetensors"
    lw.save(ck, older)
    err = refused(capsys, ["train", "char-lstm", "--data", TEXT, "--resume", str(older),
                           "--out", str(tmp_path / "o")])
    assert "no learning-rate schedule" in err


@pytest.mark.parametrize("how", ["truncated", "garbage", ".pt", "other-model"])
def test_generating_from_a_damaged_checkpoint_is_one_sentence(how, checkpoints, capsys, tmp_path):
    bad = damaged(checkpoints["char-lstm"], how, tmp_path, checkpoints["digits-cnn"])
    err = refused(capsys, ["generate", str(bad)])
    assert err.startswith(f"layerwise: error: {bad}: "), err


def test_a_diverging_run_stops_with_one_sentence(capsys, tmp_path):
    code = main(["train", "digits-cnn", "--lr", "1e30", "--steps", "20", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "training stopped at step" in err and "the loss is" in err


# ------------------------------------------------------------------ interrupted runs
def interrupt_at(monkeypatch, step):
    """Raise KeyboardInterrupt (Ctrl-C) when the metrics row of ``step``'s loss is logged."""
    original = metrics_module.MetricsLog.log

    def log(self, row=None, **kw):
        if row and "loss" in row and row["step"] == step:
            monkeypatch.setattr(metrics_module.MetricsLog, "log", original)   # once
            raise KeyboardInterrupt
        return original(self, row, **kw)
    monkeypatch.setattr(metrics_module.MetricsLog, "log", log)


def losses(folder):
    return [(r["step"], r["loss"]) for r in read_metrics(folder / "metrics.jsonl") if "loss" in r]


@pytest.mark.parametrize("model", ["char-lstm", "digits-cnn", "char-gpt"])
def test_ctrl_c_keeps_a_checkpoint_and_resuming_logs_each_step_once(
        model, monkeypatch, capsys, tmp_path, tiny_lstm, tiny_gpt):
    data = ["--data", TEXT] if model.startswith("char") else []
    run = ["train", model, "--steps", "12", "--checkpoint-every", "5"] + data
    assert main(run + ["--out", str(tmp_path / "whole")]) == 0
    interrupt_at(monkeypatch, 8)
    cut = tmp_path / "cut"
    assert main(run + ["--out", str(cut)]) == 130
    assert "interrupted" in capsys.readouterr().err
    ckpt = next(cut.glob("*.safetensors"))                 # the step-5 checkpoint was written
    saved = lw.load(ckpt)
    assert (saved["training"]["step"] if model == "char-gpt" else saved["step"]) == 5
    assert [s for s, _ in losses(cut)] == list(range(1, 8))
    assert main(run + ["--out", str(cut), "--resume", str(ckpt)]) == 0
    assert [s for s, _ in losses(cut)] == list(range(1, 13))     # each step once
    assert losses(cut) == losses(tmp_path / "whole")               # and the same run, bit for bit


def test_the_samplers_refuse_what_the_cli_refuses():
    from layerwise.data.text import CharTokenizer
    tok = CharTokenizer(list("abc"))
    lw.manual_seed(0)
    lstm = charlstm.CharLSTM(3, embed=4, hidden=8, layers=1)
    g = gpt.build_gpt(lw, gpt.GPTConfig(vocab_size=3, n_layer=1, n_head=1, n_embd=8, block_size=4))
    for bad, match in [(dict(temperature=float("nan")), "temperature must be a finite number"),
                       (dict(temperature=float("inf")), "temperature must be a finite number"),
                       (dict(temperature=0.0), "temperature must be a finite number"),
                       (dict(top_k=0), "top_k must be >= 1"), (dict(length=-5), "length must be >= 0")]:
        with pytest.raises(ValueError, match=f"sample: {match}"):
            charlstm.sample(lstm, tok, "ab", **{"length": 3, **bad})
        with pytest.raises(ValueError, match=f"generate: {match}"):
            gpt.generate(g, tok, "ab", **{"length": 3, **bad})
    assert len(charlstm.sample(lstm, tok, "ab", length=0)) == 2      # length 0: the prompt
