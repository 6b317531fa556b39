"""Plots: each writes a real PNG, has the axes, labels and legends it promises, and draws the
numbers it claims (kernels = weights, feature maps = conv outputs computed by torch, gradient
norms = the gradients backward produced)."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.data.synthetic import adding_problem
from layerwise.nn.conv import Conv2d
from layerwise.tools import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_bytes=8000):
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIGNATURE and len(data) > min_bytes


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def history(epochs=4):
    return {"epoch": list(range(1, epochs + 1)),
            "train_loss": [1.0 / e for e in range(1, epochs + 1)],
            "train_acc": [0.5 + 0.1 * e for e in range(epochs)],
            "test_loss": [1.2 / e for e in range(1, epochs + 1)],
            "test_acc": [0.45 + 0.1 * e for e in range(epochs)], "seconds": [1.0] * epochs}


# ---------------------------------------------------------------------------- training curves
def test_training_curves_draw_the_history(tmp_path):
    h = history()
    fig = plots.plot_training_curves(h, tmp_path / "curves.png")
    assert_png(tmp_path / "curves.png")
    loss_ax, acc_ax = fig.axes
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("epoch", "loss")
    assert (acc_ax.get_xlabel(), acc_ax.get_ylabel()) == ("epoch", "accuracy (%)")
    assert loss_ax.get_title() == "Loss" and acc_ax.get_title() == "Accuracy"
    for ax, (train, test), scale in ((loss_ax, ("train_loss", "test_loss"), 1),
                                     (acc_ax, ("train_acc", "test_acc"), 100)):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]
        (tr, te) = ax.get_lines()
        np.testing.assert_allclose(tr.get_xdata(), h["epoch"])
        np.testing.assert_allclose(tr.get_ydata(), np.array(h[train]) * scale)
        np.testing.assert_allclose(te.get_ydata(), np.array(h[test]) * scale)


def test_training_curves_without_a_test_set():
    h = history()
    h["test_loss"], h["test_acc"] = [], []
    fig = plots.plot_training_curves(h)
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    with pytest.raises(ValueError, match="train_loss"):
        plots.plot_training_curves({"epoch": [1]})


# ---------------------------------------------------------------------------- kernels
def tiles_of(fig):
    """The kernel tiles drawn, un-zoomed: {(row, col): 2-D array}."""
    lay = fig.kernel_layout
    kh, kw = lay["kernel_size"]
    z, gap = lay["zoom"], lay["gap"]
    img = np.ma.filled(image_axes(fig)[0].images[0].get_array().astype(float), np.nan)
    th, tw = kh * z + gap, kw * z + gap
    rows, cols = (img.shape[0] + gap) // th, (img.shape[1] + gap) // tw
    return {(r, c): img[r * th:r * th + kh * z:z, c * tw:c * tw + kw * z:z]
            for r in range(rows) for c in range(cols)}, img, (th, tw, z)


def test_kernels_one_input_channel_grid_equals_the_weights(tmp_path):
    lw.manual_seed(0)
    conv = Conv2d(1, 6, 3)
    fig = plots.plot_kernels(conv, tmp_path / "k.png")
    assert_png(tmp_path / "k.png", 5000)
    (ax,) = image_axes(fig)
    assert len(fig.axes) == 2                                # the grid and its colorbar
    assert fig.axes[1].get_ylabel() == "weight"
    assert ax.get_xlabel() and ax.get_ylabel() and "6 filters of 3×3" in ax.get_title()
    tiles, img, (th, tw, z) = tiles_of(fig)
    ncols = fig.kernel_layout["ncols"]
    assert ncols == 3
    w = conv.weight.detach().numpy()
    for k in range(6):
        r, c = divmod(k, ncols)
        np.testing.assert_array_equal(tiles[(r, c)], w[k, 0])
        # every pixel of the zoomed tile is that weight
        block = img[r * th:r * th + 3 * z, c * tw:c * tw + 3 * z]
        np.testing.assert_array_equal(block, np.kron(w[k, 0], np.ones((z, z))))
    assert np.isnan(img[th - 1, :]).all()                    # the gaps are blank
    im = ax.images[0]
    assert im.norm.vmin == -im.norm.vmax == -np.abs(w).max()  # one symmetric colour scale
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(k) for k in range(6))


def test_kernels_many_input_channels_rows_are_filters_columns_inputs():
    lw.manual_seed(1)
    conv = Conv2d(3, 4, (5, 3))
    fig = plots.plot_kernels(conv)
    tiles, _, _ = tiles_of(fig)
    w = conv.weight.detach().numpy()
    assert len(tiles) == 12
    for o in range(4):
        for i in range(3):
            np.testing.assert_array_equal(tiles[(o, i)], w[o, i])
    ax = image_axes(fig)[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("input channel", "output channel (filter)")
    mean_fig = plots.plot_kernels(conv.weight, mean_over_inputs=True)
    tiles, _, _ = tiles_of(mean_fig)
    np.testing.assert_allclose(tiles[(0, 1)], w[1].mean(axis=0))


# ---------------------------------------------------------------------------- feature maps
def small_cnn():
    nn = lw.nn
    return nn.Sequential(Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         Conv2d(4, 20, 3), nn.ReLU(), nn.Flatten())


def test_feature_maps_equal_the_conv_outputs_computed_by_torch():
    lw.manual_seed(2)
    model = small_cnn()
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    maps = plots.feature_maps(model, x)
    assert list(maps) == ["0", "3"]
    tw = lambda p: torch.from_numpy(p.detach().numpy())
    t1 = torch.nn.functional.conv2d(torch.from_numpy(x), tw(model[0].weight), tw(model[0].bias),
                                    padding=1)
    t2 = torch.nn.functional.conv2d(torch.nn.functional.max_pool2d(t1.relu(), 2),
                                    tw(model[3].weight), tw(model[3].bias))
    np.testing.assert_allclose(maps["0"], t1.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps["3"], t2.numpy(), rtol=1e-5, atol=1e-6)
    assert model.training and not model[0]._forward_hooks     # mode restored, hooks removed
    more = plots.feature_maps(model, x[0], types=(Conv2d, lw.nn.ReLU))
    assert list(more) == ["0", "1", "3", "4"]
    np.testing.assert_allclose(more["1"][0], np.maximum(t1.numpy()[0], 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no layer"):
        plots.feature_maps(lw.nn.Sequential(lw.nn.Linear(2, 2)), np.zeros((1, 2)))


def test_plot_feature_maps_one_row_per_layer_with_the_maps(tmp_path):
    lw.manual_seed(3)
    model = small_cnn()
    x = lw.tensor(np.random.default_rng(1).random((1, 1, 8, 8)).astype(np.float32))
    fig = plots.plot_feature_maps(model, x, tmp_path / "maps.png", max_channels=16)
    assert_png(tmp_path / "maps.png")
    rows = image_axes(fig)
    assert len(rows) == 3 and len(fig.axes) == 6             # input + 2 conv rows, 3 colorbars
    assert [len(ax.images) for ax in rows] == [1, 4, 16]       # 20 channels capped at 16
    assert "first 16 of 20 channels" in rows[2].get_title(loc="left")
    assert [ax.get_xlabel() for ax in rows] == ["channel"] * 3
    maps = plots.feature_maps(model, x)
    np.testing.assert_array_equal(rows[0].images[0].get_array(), x.numpy()[0, 0])
    for ax, name in zip(rows[1:], ["0", "3"]):
        for k, im in enumerate(ax.images):
            np.testing.assert_array_equal(im.get_array(), maps[name][0, k])
        assert ax.images[0].norm.vmax == maps[name][0, :16].max()   # one scale per row


# ---------------------------------------------------------------------------- attention
def test_attention_per_head_with_tokens(tmp_path):
    from layerwise.nn.attention import MultiheadAttention

    lw.manual_seed(4)
    mha = MultiheadAttention(8, 2, batch_first=True)
    tokens = ["the", "cat", "sat", "down", "."]
    x = lw.randn(1, 5, 8)
    _, w = mha(x, x, x, average_attn_weights=False)
    w = w.detach().numpy()[0]                                 # (heads, L, S)
    fig = plots.plot_attention(w, tmp_path / "attn.png", tokens=tokens)
    assert_png(tmp_path / "attn.png")
    heads = image_axes(fig)
    assert len(heads) == 2 and len(fig.axes) == 3
    for h, ax in enumerate(heads):
        np.testing.assert_array_equal(ax.images[0].get_array(), w[h])
        assert ax.get_title() == f"head {h}"
        assert [t.get_text() for t in ax.get_xticklabels()] == tokens
        assert ax.get_xlabel() == "key (attended to)"
    assert heads[0].get_ylabel() == "query"
    assert [t.get_text() for t in heads[0].get_yticklabels()] == tokens
    layered = plots.plot_attention([w, w[::-1]])              # two layers × two heads
    axes = image_axes(layered)
    assert len(axes) == 4 and axes[3].get_title() == "layer 1, head 1"
    np.testing.assert_array_equal(axes[2].images[0].get_array(), w[1])
    single = plots.plot_attention(w.mean(0))
    assert len(image_axes(single)) == 1
    with pytest.raises(ValueError, match="tokens"):
        plots.plot_attention(w, tokens=tokens[:3])
    with pytest.raises(ValueError, match="one sample"):
        plots.plot_attention(np.zeros((5,)))


# ---------------------------------------------------------------------------- gradient flow
def mlp():
    nn = lw.nn
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))


def batches(n=3):
    rng = np.random.default_rng(5)
    return [(lw.tensor(rng.normal(size=(6, 4)).astype(np.float32)),
             lw.tensor(rng.normal(size=(6, 1)).astype(np.float32))) for _ in range(n)]


def test_recorder_norms_equal_the_parameter_gradients_each_step():
    lw.manual_seed(6)
    model = mlp()
    opt = lw.optim.SGD(model.parameters(), lr=0.1)
    rec = plots.GradientFlowRecorder(model)
    by_module = plots.GradientFlowRecorder(model, by="module")
    expected = []
    for x, y in batches():
        opt.zero_grad()
        lw.nn.functional.mse_loss(model(x), y).backward()
        expected.append({n: float(np.linalg.norm(p.grad.numpy().astype(np.float64)))
                         for n, p in model.named_parameters()})
        lw.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)   # recorded before clipping
        opt.step()
    norms = rec.norms
    assert list(norms) == [n for n, _ in model.named_parameters()] and rec.steps == 3
    for name in norms:
        np.testing.assert_allclose(norms[name], [e[name] for e in expected], rtol=1e-6)
    mod = by_module.norms
    assert list(mod) == ["0", "2", "4"]
    np.testing.assert_allclose(mod["2"], [np.hypot(e["2.weight"], e["2.bias"]) for e in expected],
                               rtol=1e-6)
    assert by_module.labels["2"] == "2 (Linear)"
    rec.remove()
    by_module.remove()
    model(batches(1)[0][0]).sum().backward()
    assert rec.steps == 3 and len(rec.norms["0.weight"]) == 3   # hooks are off


def test_recorder_tied_and_unused_parameters():
    nn = lw.nn
    lw.manual_seed(7)
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.Tanh(), lin, nn.Linear(3, 2))  # lin used twice
    model[3].weight.requires_grad_(False)
    with plots.GradientFlowRecorder(model) as rec:
        x = lw.randn(4, 3)
        model(x).sum().backward()
        # the bias of the last layer gets a gradient; its frozen weight is not recorded
        assert list(rec.norms) == ["0.weight", "0.bias", "3.bias"]
        np.testing.assert_allclose(rec.norms["0.weight"], [np.linalg.norm(lin.weight.grad.numpy())],
                                   rtol=1e-6)
        lin.weight.grad = None
        model[3].bias.grad = None
        model[2:](lw.randn(4, 3)).sum().backward()             # only the tail: lin used once
    assert rec.steps == 2
    assert np.isfinite(rec.norms["0.weight"]).all() and np.isfinite(rec.norms["3.bias"]).all()
    unused = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    rec2 = plots.GradientFlowRecorder(unused)
    unused[1](lw.randn(1, 2)).sum().backward()                 # layer 0 unused this step
    assert np.isnan(rec2.norms["0.weight"][0]) and rec2.norms["1.weight"][0] > 0


def test_recorder_activation_gradients_match_torch_backward_hooks():
    lw.manual_seed(8)
    model = mlp()
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                                 torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for (_, p), tp in zip(model.named_parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().astype(np.float64)))
    got = []
    for name, m in tmodel.named_children():
        m.register_full_backward_hook(lambda m, gi, go, name=name: got.append(
            (name, go[0].norm().item())))
    rec = plots.GradientFlowRecorder(model, by="activation")
    x, y = batches(1)[0]
    lw.nn.functional.mse_loss(model(x), y).backward()
    tx = torch.from_numpy(x.numpy()).double().requires_grad_()
    torch.nn.functional.mse_loss(tmodel(tx),
                                 torch.from_numpy(y.numpy()).double()).backward()
    expected = dict(got)
    norms = rec.norms
    assert list(norms) == ["0", "1", "2", "3", "4"]
    for name in norms:
        np.testing.assert_allclose(norms[name], [expected[name]], rtol=1e-4)


def test_recorder_counts_one_record_per_training_step_in_fit():
    from layerwise.data import DataLoader, TensorDataset
    from layerwise.tools.trainer import fit

    lw.manual_seed(9)
    model = lw.nn.Sequential(lw.nn.Linear(4, 8), lw.nn.ReLU(), lw.nn.Linear(8, 3))
    rng = np.random.default_rng(0)
    data = TensorDataset(lw.tensor(rng.normal(size=(40, 4)).astype(np.float32)),
                         lw.tensor(rng.integers(0, 3, 40)))
    rec = plots.GradientFlowRecorder(model)
    fit(model, DataLoader(data, batch_size=10), lw.optim.SGD(model.parameters(), lr=0.1), 2,
        test_loader=DataLoader(data, batch_size=40), log=None, show_progress=False)
    assert rec.steps == 8                                    # evaluation forwards add nothing
    assert all(len(v) == 8 and np.all(v > 0) for v in rec.norms.values())


def test_plot_gradient_flow(tmp_path):
    lw.manual_seed(10)
    model = mlp()
    rec = plots.GradientFlowRecorder(model, by="module")
    for x, y in batches(4):
        model.zero_grad()
        lw.nn.functional.mse_loss(model(x), y).backward()
    fig = plots.plot_gradient_flow(rec, tmp_path / "grads.png")
    assert_png(tmp_path / "grads.png")
    steps_ax, layers_ax = fig.axes
    assert steps_ax.get_yscale() == layers_ax.get_yscale() == "log"
    assert steps_ax.get_xlabel() == "training step (backward pass)"
    assert "gradient norm" in steps_ax.get_ylabel() and layers_ax.get_xlabel().startswith("layer")
    labels = [t.get_text() for t in steps_ax.get_legend().get_texts()]
    assert labels == ["0 (Linear)", "2 (Linear)", "4 (Linear)"]
    for line, name in zip(steps_ax.get_lines(), ["0", "2", "4"]):
        np.testing.assert_allclose(line.get_ydata(), rec.norms[name])
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(fig.gradient_stats["2"][1], np.median(rec.norms["2"]))
    with pytest.raises(ValueError, match="nothing recorded"):
        plots.plot_gradient_flow(plots.GradientFlowRecorder(mlp()))


# ---------------------------------------------------------------------------- recurrent gradients
def test_adding_problem_has_two_marks_one_per_half_and_sums_them():
    x, y = adding_problem(50, 20, lw.Generator().manual_seed(0))
    x, y = x.numpy(), y.numpy()
    assert x.shape == (50, 20, 2) and y.shape == (50, 1) and x.dtype == np.float32
    marks = x[:, :, 1]
    assert set(np.unique(marks)) == {0.0, 1.0}
    assert (marks[:, :10].sum(1) == 1).all() and (marks[:, 10:].sum(1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * marks).sum(1), rtol=1e-6)
    assert (x[:, :, 0] >= 0).all() and (x[:, :, 0] < 1).all()
    again, _ = adding_problem(50, 20, lw.Generator().manual_seed(0))
    np.testing.assert_array_equal(again.numpy(), x)
    with pytest.raises(ValueError):
        adding_problem(5, 1)


def test_hidden_grad_norm_plot(tmp_path):
    curves = {"RNN": np.array([0.0, 1e-12, 1e-6, 1.0]), "LSTM": lw.tensor([1e-3, 1e-2, 0.1, 1.0])}
    fig = plots.plot_hidden_grad_norms(curves, tmp_path / "bptt.png")
    assert_png(tmp_path / "bptt.png")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time step t"
    assert ax.get_ylabel() == "‖∂L/∂h_t‖"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RNN", "LSTM"]
    rnn, lstm = ax.get_lines()
    np.testing.assert_array_equal(rnn.get_ydata(), [np.nan, 1e-12, 1e-6, 1.0])   # 0 left out
    np.testing.assert_allclose(lstm.get_ydata(), [1e-3, 1e-2, 0.1, 1.0], rtol=1e-6)
    norm = plots.plot_hidden_grad_norms({"a": [2.0, 4.0]}, normalize=True)
    np.testing.assert_array_equal(norm.axes[0].get_lines()[0].get_ydata(), [0.5, 1.0])


def test_vanishing_gradient_rnn_decays_far_more_than_lstm():
    norms = plots.vanishing_gradient_demo(T=100, hidden=32, seed=0)
    assert set(norms) == {"RNN", "LSTM"}
    rnn, lstm = norms["RNN"], norms["LSTM"]
    assert rnn.shape == lstm.shape == (100,)
    assert np.all(np.isfinite(rnn)) and np.all(rnn > 0) and np.all(lstm > 0)
    rnn_ratio, lstm_ratio = rnn[0] / rnn[-1], lstm[0] / lstm[-1]
    assert rnn_ratio < 1e-3
    assert lstm_ratio > 10 * rnn_ratio
    # the RNN's decay is close to exponential: the log-norm falls by a steady amount per step
    slope = np.diff(np.log(rnn[:90]))
    assert slope.min() > 0 and slope.std() < 0.5 * slope.mean()


# ---------------------------------------------------------------------------- demo and extras
def test_save_demo_plots_writes_three_pictures(tmp_path):
    from layerwise.models.zoo import digits_cnn

    lw.manual_seed(11)
    model = digits_cnn()
    sample = lw.rand(1, 8, 8)
    paths = plots.save_demo_plots(model, history(3), sample, tmp_path / "demo")
    assert list(paths) == ["curves", "kernels", "feature_maps"]
    for p in paths.values():
        assert_png(p)


def test_without_matplotlib_plots_name_the_extra_and_collectors_still_work(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'layerwise\[plot\]'"):
        plots.plot_training_curves(history())
    lw.manual_seed(12)
    assert list(plots.feature_maps(small_cnn(), np.zeros((1, 1, 8, 8), np.float32))) == ["0", "3"]


def test_import_layerwise_loads_neither_matplotlib_nor_tensorboard():
    code = ("import sys, layerwise, layerwise.tools.plots, layerwise.tools.tensorboard, "
            "layerwise.tools.metrics; "
            "print(sorted(m for m in ('matplotlib', 'tensorboard') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
