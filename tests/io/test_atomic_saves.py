"""Atomic saves, as the docs describe them: what a killed save leaves behind, errors that name
the file the caller asked for, and symbolic links written through as torch.save does.

Issue 14, item 6."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

import layerwise as lw
from bounded import REPO
from layerwise.io import CheckpointError, load, save
from layerwise.io import checkpoint as ckpt

# A child that saves a 4 MiB checkpoint and stops (prints "ready", sleeps) at one stage of the
# save, for the parent to SIGKILL it there.
STAGE_SCRIPT = r"""
import os, sys, time
import layerwise as lw
from layerwise.io import checkpoint, safetensors_format, torch_writer
path, stage = sys.argv[1], sys.argv[2]
safetensors_format.WRITE_CHUNK_BYTES = torch_writer.WRITE_CHUNK_BYTES = 1 << 16
total = 4 << 20

def stop():
    print("ready", flush=True)
    time.sleep(60)

def on_chunk(written):
    if (stage == "middle" and written == total // 2) or (stage == "last" and written == total):
        stop()
checkpoint._on_chunk = on_chunk
real_fsync, real_replace = os.fsync, os.replace
def fsync(fd):
    real_fsync(fd)
    if stage == "fsynced":
        stop()
os.fsync = fsync
lw.save({"epoch": 2, "w": lw.arange(float(1 << 20))}, path)
"""
STAGES = ["middle", "last", "fsynced"]


def new_checkpoint():
    return {"epoch": 2, "w": lw.arange(float(1 << 20))}


def test_a_killed_save_leaves_a_temporary_file_that_is_partial_and_refused_or_complete(tmp_path):
    """Killed before its last byte reached the file, a save's temporary file is refused as
    truncated; killed after (e.g. during the fsync, before the rename) it is the whole new
    checkpoint.  Never a partial checkpoint that loads, and the target is never touched."""
    children = {}
    for suffix in (".safetensors", ".pt"):
        for stage in STAGES:
            folder = tmp_path / f"{stage}{suffix}"
            folder.mkdir()
            save({"epoch": 1}, folder / f"ckpt{suffix}")
            children[folder] = subprocess.Popen(
                [sys.executable, "-c", STAGE_SCRIPT, str(folder / f"ckpt{suffix}"), stage],
                cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    try:
        for folder, proc in children.items():
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    want, refused = new_checkpoint(), []
    for folder in children:
        stage, suffix = folder.name.split(".")
        target = folder / f"ckpt.{suffix}"
        assert load(target) == {"epoch": 1}, folder.name          # the old checkpoint
        temps = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].name.startswith(f".ckpt.{suffix}."), folder.name
        try:
            got = load(temps[0])
        except CheckpointError as e:
            assert stage != "fsynced", folder.name
            assert "truncated" in str(e) or "damaged" in str(e), (folder.name, str(e))
            refused.append(folder.name)
            continue
        assert got["epoch"] == 2 and np.array_equal(got["w"].array, want["w"].array), folder.name
    # half-written files are refused; once the bytes are all written (the safetensors
    # writer's last chunk; the zip writer's central directory comes after it) they load
    assert refused == ["middle.safetensors", "middle.pt", "last.pt"]


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_save_errors_name_the_target_not_the_temporary_file(tmp_path, suffix, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / f"x{suffix}"
    with pytest.raises(NotADirectoryError) as e:
        save({"w": lw.ones(2)}, target)
    assert e.value.filename == str(target) and ".tmp" not in str(e.value)
    (tmp_path / f"dir{suffix}").mkdir()
    with pytest.raises(IsADirectoryError) as e:
        save({"w": lw.ones(2)}, tmp_path / f"dir{suffix}")
    assert e.value.filename == str(tmp_path / f"dir{suffix}")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src, dst)
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as e:
        save({"w": lw.ones(2)}, tmp_path / f"y{suffix}")
    assert e.value.filename == str(tmp_path / f"y{suffix}") and ".tmp" not in str(e.value)
    assert sorted(os.listdir(tmp_path)) == [f"dir{suffix}", "file"]     # no temporary file left


def test_saving_onto_a_symlink_writes_through_it_as_torch_does(tmp_path):
    (tmp_path / "real").mkdir()
    for writer, name in ((torch.save, "torch"), (save, "lw")):
        target = tmp_path / "real" / f"{name}.pt"
        link = tmp_path / f"{name}-latest.pt"
        writer({"epoch": 0}, target)
        os.chmod(target, 0o640)
        link.symlink_to(os.path.relpath(target, tmp_path))
        writer({"epoch": 1}, link)
        assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path), name
        assert torch.load(target)["epoch"] == 1, name
        assert oct(target.stat().st_mode & 0o777) == oct(0o640), name
    assert load(tmp_path / "lw-latest.pt") == {"epoch": 1}
    assert sorted(os.listdir(tmp_path / "real")) == ["lw.pt", "torch.pt"]   # no temporary files


def test_a_dangling_symlink_creates_its_target_and_links_in_the_path_are_followed(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "store", target_is_directory=True)
    (tmp_path / "next.safetensors").symlink_to(tmp_path / "store" / "run2.safetensors")
    save({"w": lw.ones(3)}, tmp_path / "next.safetensors")
    assert (tmp_path / "next.safetensors").is_symlink()
    assert load(tmp_path / "store" / "run2.safetensors")["w"].tolist() == [1.0, 1.0, 1.0]
    save({"w": lw.zeros(1)}, tmp_path / "alias" / "run3.safetensors")
    assert (tmp_path / "alias").is_symlink()
    assert sorted(os.listdir(tmp_path / "store")) == ["run2.safetensors", "run3.safetensors"]


def test_atomic_write_is_still_exported_from_checkpoint(tmp_path):
    ckpt.atomic_write(tmp_path / "f.bin", lambda fh: fh.write(b"abc"))
    assert (tmp_path / "f.bin").read_bytes() == b"abc"
