"""The `layerwise` command line: every command, its --help, and its error paths."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerwise.cli import build_parser, main
from layerwise.tools.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LAYERWISE_TEST_DATA") or ROOT.parent / "shared" / "data")

COMMAND_OPTIONS = {
    "demo": ["--epochs", "--out", "--seed"],
    "train": ["MODEL", "--epochs", "--steps", "--lr", "--batch-size", "--data", "--download", "--out",
              "--seed", "--resume", "--checkpoint-every"],
    "summary": ["MODEL"],
    "generate": ["CHECKPOINT", "--prompt", "--length", "--temperature", "--top-k", "--seed"],
    "bench": ["--vs", "--only", "--threads", "--repeats"],
}


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
def test_help_lists_every_option_with_an_explanation(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in COMMAND_OPTIONS[command]:
        assert opt in text, f"{command} --help does not mention {opt}"
    # every option has help text (argparse prints nothing after it otherwise)
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.dest != "help":
            assert action.help, f"{command}: option {action.dest} has no help"


def test_top_level_help_and_no_command(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
    out = subprocess.run([sys.executable, "-m", "layerwise", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "generate" in out.stdout


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "layerwise"
    out = subprocess.run([str(exe), "summary", "digits-cnn"], capture_output=True, text=True)
    assert out.returncode == 0 and "Total params: 13,706" in out.stdout


def test_summary(capsys):
    assert main(["summary", "lenet5"]) == 0
    assert "Total params: 61,706" in capsys.readouterr().out


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("layerwise: error: ") and "Traceback" not in err and err.count("\n") == 1
    return err


def _refused(capsys, argv):
    """A mistake caught either by the parser (SystemExit 2) or by the command (return 2): one
    line on stderr, no traceback; the line."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("layerwise") and ": error: " in err, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_user_mistakes_are_one_sentence_and_exit_2(capsys, tmp_path):
    assert "unknown model 'resnet'" in _error(capsys, ["train", "resnet"])
    assert "unknown model 'resnet'" in _error(capsys, ["summary", "resnet"])
    assert "no such folder" in _error(capsys, ["train", "lenet5", "--data", str(tmp_path / "nope")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "MNIST" in _error(capsys, ["train", "lenet5", "--data", str(empty)])
    assert "no such checkpoint" in _error(capsys, ["generate", str(tmp_path / "x.safetensors")])
    assert "no such checkpoint" in _error(capsys, ["train", "digits-cnn", "--resume", str(tmp_path / "x")])
    assert "only 'torch'" in _error(capsys, ["bench", "--vs", "jax"])


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train"])
    assert e.value.code == 2 and "MODEL" in capsys.readouterr().err


def test_train_image_model_checkpoint_metrics_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "lenet5", "--data", str(DATA / "mnist"), "--steps", "30", "--out", str(out),
                 "--checkpoint-every", "10"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and (out / "checkpoint.safetensors").is_file()
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, 31))
    assert "test_acc" in rows[-1]
    assert main(["train", "lenet5", "--data", str(DATA / "mnist"), "--steps", "40", "--out", str(out),
                 "--resume", str(out / "checkpoint.safetensors")]) == 0
    assert "resumed from" in capsys.readouterr().out
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert steps == list(range(1, 41))


def test_demo_command(tmp_path, capsys):
    assert main(["demo", "--epochs", "2", "--out", str(tmp_path)]) == 0
    assert "final test accuracy" in capsys.readouterr().out
    assert (tmp_path / "kernels.png").is_file()


def test_bench_command(capsys):
    assert main(["bench", "--vs", "torch", "--only", "mlp_inference", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "mlp_inference" in out and "ratio" in out


def test_train_char_lstm_then_generate(tmp_path, capsys):
    out = tmp_path / "lstm"
    assert main(["train", "char-lstm", "--steps", "50", "--data", str(DATA / "tinyshakespeare"),
                 "--out", str(out)]) == 0
    assert "validation loss" in capsys.readouterr().out
    ckpt = out / "checkpoint.safetensors"
    assert main(["generate", str(ckpt), "--prompt", "ROMEO:", "--length", "80", "--top-k", "10"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:") and len(text.rstrip("\n")) == len("ROMEO:") + 80
    assert "never saw" in _error(capsys, ["generate", str(ckpt), "--prompt", "ROMEO: ☃"])
    assert "temperature" in _refused(capsys, ["generate", str(ckpt), "--temperature", "0"])
    not_text = tmp_path / "w.safetensors"
    import layerwise as lw
    lw.save({"weight": lw.zeros(2)}, not_text)
    assert "not a" in _error(capsys, ["generate", str(not_text)])


def test_train_char_gpt_then_generate_and_summary(tmp_path, capsys):
    out = tmp_path / "gpt"
    assert main(["train", "char-gpt", "--steps", "20", "--data", str(DATA / "tinyshakespeare"),
                 "--out", str(out)]) == 0
    assert "validation loss" in capsys.readouterr().out
    ckpt = next(out.glob("*.safetensors"))
    assert "already finished its 20 iterations" in _error(
        capsys, ["train", "char-gpt", "--data", str(DATA / "tinyshakespeare"), "--resume", str(ckpt)])
    assert main(["generate", str(ckpt), "--prompt", "KING:", "--length", "30"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("KING:") and len(text.rstrip("\n")) == len("KING:") + 30
    assert main(["summary", "char-gpt"]) == 0
    assert "Total params" in capsys.readouterr().out


def test_a_new_command_is_one_file_in_commands(tmp_path, monkeypatch, capsys):
    from layerwise.cli import commands
    (tmp_path / "hello.py").write_text(
        'NAME = "hello"\nORDER = 99\nHELP = "say hello"\nDESCRIPTION = "Say hello."\n\n'
        'def add_arguments(p):\n    p.add_argument("--to", default="world", help="whom")\n\n'
        'def run(args):\n    print("hello", args.to)\n')
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "layerwise.cli.commands.hello", raising=False)
    try:
        assert main(["hello", "--to", "you"]) == 0
        assert capsys.readouterr().out == "hello you\n"
        names = list(build_parser()._subparsers._group_actions[0].choices)
        assert names == ["demo", "train", "summary", "generate", "bench", "hello"]
    finally:
        sys.modules.pop("layerwise.cli.commands.hello", None)


def test_the_models_and_tools_import_nothing_from_the_cli():
    import ast
    for folder in ("models", "tools", "io", "data"):
        for path in (ROOT / "layerwise" / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    names = [("." * node.level) + (node.module or "")]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                for name in names:
                    assert "cli" not in name.split("."), f"{path.relative_to(ROOT)} imports {name}"
