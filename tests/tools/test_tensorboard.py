"""SummaryWriter: the event files it writes are read back by TensorBoard's own loader, with the
values and steps written; histograms and the add_scalars layout match torch's SummaryWriter."""
import io
import os
import sys

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import layerwise as lw
from layerwise.tools.tensorboard import SummaryWriter, encode_png, histogram_bins


def load(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                       "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_from_tensors_arrays_and_numbers_with_steps_and_walltime(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss/train", lw.tensor(0.5, requires_grad=True), 0)
        w.add_scalar("loss/train", np.float32(0.25), 1)
        w.add_scalar("loss/train", np.array([0.125]), 2, walltime=1234.5)
        w.add_scalar("lr", 3e-3, global_step=7)
        w.add_scalar("lr", 1e-3)                                  # no step: stored as step 0
    acc = load(tmp_path)
    assert sorted(acc.Tags()["scalars"]) == ["loss/train", "lr"]
    ev = acc.Scalars("loss/train")
    assert [e.step for e in ev] == [0, 1, 2]
    assert [e.value for e in ev] == [0.5, 0.25, 0.125]
    assert ev[2].wall_time == 1234.5
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("lr")] == [(7, 0.003), (0, 0.001)]
    with pytest.raises(ValueError, match="single value"):
        SummaryWriter(tmp_path / "x").add_scalar("bad", np.ones(3))


def test_add_scalars_writes_one_run_per_key_like_torch(tmp_path):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for root, cls in ((tmp_path / "lw", SummaryWriter), (tmp_path / "torch", TorchWriter)):
        w = cls(str(root))
        for step in range(3):
            w.add_scalars("loss/split", {"train": 1.0 / (step + 1), "test": 2.0 / (step + 1)}, step)
        w.close()
    runs = lambda root: sorted(d for d in os.listdir(root) if os.path.isdir(root / d))
    assert runs(tmp_path / "lw") == runs(tmp_path / "torch") == ["loss_split_test", "loss_split_train"]
    for key, scale in (("train", 1.0), ("test", 2.0)):
        ev = load(tmp_path / "lw" / f"loss_split_{key}").Scalars("loss/split")
        assert [e.step for e in ev] == [0, 1, 2]
        assert np.allclose([e.value for e in ev], [scale, scale / 2, scale / 3])


@pytest.mark.parametrize("bins", ["tensorflow", 10, "auto"])
def test_histogram_matches_torch_and_reads_back(tmp_path, bins):
    from torch.utils.tensorboard.summary import histogram as torch_histogram

    values = np.random.default_rng(0).normal(0.3, 2.0, size=(40, 25))
    torch_bins = bins
    if bins == "tensorflow":
        from torch.utils.tensorboard.writer import SummaryWriter as TW
        torch_bins = TW(str(tmp_path / "t")).default_bins
    expected = torch_histogram("w", values, torch_bins).value[0].histo
    with SummaryWriter(tmp_path / "lw") as w:
        w.add_histogram("w", lw.tensor(values), 5, bins=bins)
        w.add_histogram("w", values * 2, 6, bins=bins)
    ev = load(tmp_path / "lw").Histograms("w")
    assert [e.step for e in ev] == [5, 6]
    h = ev[0].histogram_value
    assert h.num == values.size and h.min == values.min() and h.max == values.max()
    assert np.isclose(h.sum, values.sum()) and np.isclose(h.sum_squares, (values ** 2).sum())
    assert sum(h.bucket) == values.size
    np.testing.assert_allclose(h.bucket_limit, expected.bucket_limit, rtol=1e-12)
    np.testing.assert_array_equal(h.bucket, expected.bucket)
    assert ev[1].histogram_value.max == 2 * values.max()


def test_tensorflow_bins_are_fixed_exponential_buckets():
    edges = histogram_bins(np.zeros(3))
    assert edges[len(edges) // 2] == 0 and np.all(np.diff(edges) > 0)
    pos = edges[edges > 0]
    assert np.isclose(pos[0], 1e-12) and pos[-1] < 1e20 and pos[-1] * 1.1 >= 1e20
    np.testing.assert_allclose(pos[1:] / pos[:-1], 1.1)
    wide = histogram_bins(np.array([-5e20, 3e21]))            # values beyond ±1e20 still counted
    assert wide[0] == -5e20 and wide[-1] == 3e21


def decode(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)))


def test_images_are_pngs_with_the_pixels_written(tmp_path):
    rng = np.random.default_rng(1)
    chw = rng.random((3, 5, 7)).astype(np.float32)               # floats in [0, 1]
    grey = rng.integers(0, 256, (6, 4), dtype=np.uint8)
    rgba_hwc = rng.integers(0, 256, (3, 2, 4), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("rgb", lw.tensor(chw), 3)
        w.add_image("grey", grey, 4, dataformats="HW")
        w.add_image("rgba", rgba_hwc, 5, dataformats="HWC")
        w.add_image("clipped", np.full((1, 2, 2), 1.7), 6)
        w.add_images("batch", rng.random((3, 1, 4, 4)), 7)
    acc = load(tmp_path)
    rgb = acc.Images("rgb")[0]
    assert (rgb.step, rgb.width, rgb.height) == (3, 7, 5)
    np.testing.assert_array_equal(decode(rgb.encoded_image_string),
                                  np.round(chw.transpose(1, 2, 0) * 255).astype(np.uint8))
    g = acc.Images("grey")[0]
    assert g.step == 4
    np.testing.assert_array_equal(decode(g.encoded_image_string), grey)
    np.testing.assert_array_equal(decode(acc.Images("rgba")[0].encoded_image_string), rgba_hwc)
    assert (decode(acc.Images("clipped")[0].encoded_image_string) == 255).all()
    b = acc.Images("batch")[0]                                  # 3 tiles of 4×4 with 2-pixel gaps
    assert (b.width, b.height) == (3 * 6 + 2, 8)
    with pytest.raises(ValueError, match="dataformats"):
        SummaryWriter(tmp_path / "x").add_image("bad", chw, dataformats="HW")


def test_encode_png_round_trips_through_pillow():
    px = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 13
    np.testing.assert_array_equal(decode(encode_png(px)), px)
    with pytest.raises(TypeError):
        encode_png(px.astype(np.float32))


def test_text_figure_and_flush_without_close(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=3600)
    w.add_text("notes", "lr **3e-3**, AdamW", 2)
    w.flush()                                                  # on disk before close
    ev = load(tmp_path).Tensors("notes/text_summary")
    assert [e.step for e in ev] == [2]
    assert ev[0].tensor_proto.string_val[0].decode() == "lr **3e-3**, AdamW"
    from matplotlib.figure import Figure
    fig = Figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([0, 1], [1, 0])
    w.add_figure("fig", fig, 1)
    w.close()
    img = load(tmp_path).Images("fig")[0]
    assert (img.width, img.height) == (100, 50)
    assert decode(img.encoded_image_string).shape == (50, 100, 4)


def test_close_then_write_again_opens_a_new_file(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalar("a", 1.0, 0)
    w.close()
    w.add_scalar("a", 2.0, 1)
    w.close()
    assert len([f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]) == 2
    assert [e.value for e in load(tmp_path).Scalars("a")] == [1.0, 2.0]


def test_purge_step_hides_the_crashed_runs_later_events(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(10):
            w.add_scalar("loss", float(step), step)
    with SummaryWriter(tmp_path, purge_step=5) as w:             # restart from step 5
        for step in range(5, 8):
            w.add_scalar("loss", 100.0 + step, step)
    ev = load(tmp_path).Scalars("loss")
    assert [(e.step, e.value) for e in ev] == ([(s, float(s)) for s in range(5)]
                                              + [(s, 100.0 + s) for s in range(5, 8)])


def test_default_log_dir_and_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_lr0.1")
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(w.get_logdir()))
    w2 = SummaryWriter(tmp_path / "suffix", filename_suffix=".v2")
    w2.close()
    assert all(f.endswith(".v2") for f in os.listdir(tmp_path / "suffix"))


def test_missing_tensorboard_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"pip install 'layerwise\[logging\]'"):
        SummaryWriter("unused")
