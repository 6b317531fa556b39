"""lw.summary: counts equal the unique numel totals and torchinfo's; shapes equal the real ones."""
import numpy as np
import pytest
import torch
import torchinfo

import layerwise as lw
from layerwise.tools import summary


def mlp(m):
    nn = m.nn
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Sequential(nn.Linear(128, 32), nn.Tanh()),
                         nn.Linear(32, 10))


def test_mlp_counts_match_torchinfo_and_numel():
    s = summary(mlp(lw), input_size=(4, 64), verbose=0)
    t = torchinfo.summary(mlp(torch), input_size=(4, 64), verbose=0)
    assert s.total_params == t.total_params == 64 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10
    assert s.trainable_params == t.trainable_params
    leaf_t = [(type(l.module).__name__, l.output_size, l.num_params) for l in t.summary_list if l.is_leaf_layer]
    leaf_l = [(r.type, list(r.output_shapes[0]), r.params) for r in s.rows if r.is_leaf]
    assert leaf_l == leaf_t


def test_output_shapes_are_the_real_ones_and_table_prints(capsys):
    model = mlp(lw)
    s = summary(model, input_size=(3, 64))
    out = capsys.readouterr().out
    assert "Total params: 12,778" in out and "├─Linear: 1-1" in out and "│    ├─Linear: 2-1" in out
    assert s.rows[0].output_shapes == [(3, 10)]
    assert [r.output_shapes[0] for r in s.rows[1:3]] == [(3, 128), (3, 128)]


def test_frozen_parameters_are_non_trainable():
    model = mlp(lw)
    model[0].requires_grad_(False)
    s = summary(model, input_size=(1, 64), verbose=0)
    assert s.non_trainable_params == 64 * 128 + 128
    assert s.trainable_params == s.total_params - s.non_trainable_params


def test_tied_weights_counted_once_and_marked():
    enc, dec = lw.nn.Linear(6, 6, bias=False), lw.nn.Linear(6, 6, bias=False)
    dec.weight = enc.weight
    model = lw.nn.Sequential(enc, lw.nn.ReLU(), dec)
    s = summary(model, input_size=(2, 6), verbose=0)
    assert s.total_params == 36 == sum(p.numel() for p in model.parameters())
    assert s.rows[3].params == 0 and s.rows[3].tied == ["2.weight = 0.weight"]
    assert "Tied parameters (counted once): 2: 2.weight = 0.weight" in str(s)
    assert "(tied)" in str(s)


def test_recursive_module_counted_once():
    a = lw.nn.Linear(4, 4)
    model = lw.nn.Sequential(a, lw.nn.ReLU(), a)
    s = summary(model, input_size=(1, 4), verbose=0)
    assert s.total_params == 20 and "(recursive)" in str(s)


def test_memory_columns_and_integer_dtypes():
    class Lookup(lw.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = lw.nn.Parameter(lw.randn(10, 3))

        def forward(self, idx):
            return self.table[idx]

    s = summary(Lookup(), input_size=(5,), dtypes=[lw.int64], verbose=0)
    assert s.input_bytes == 5 * 8 and s.param_bytes == 30 * 4
    assert s.rows[0].output_shapes == [(5, 3)]
    with pytest.raises(ValueError, match="input_size"):
        summary(Lookup())


def test_summary_restores_training_mode_and_hooks():
    model = mlp(lw)
    model.train()
    summary(model, input_size=(1, 64), verbose=0)
    assert model.training and not model[0]._forward_hooks and not model[0]._forward_pre_hooks


def _lenet(m):
    from layerwise.models.zoo import lenet5
    return lenet5(m)


class _LSTMNet:
    """An LSTM-like model in both libraries: embedding → 2-layer LSTM → linear head."""

    @staticmethod
    def build(m):
        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = m.nn.Embedding(65, 32)
                self.lstm = m.nn.LSTM(32, 48, num_layers=2, batch_first=True)
                self.head = m.nn.Linear(48, 65)

            def forward(self, idx):
                out, _ = self.lstm(self.emb(idx))
                return self.head(out)
        return Net()


@pytest.mark.parametrize("name", ["lenet5", "lstm"])
def test_cnn_and_lstm_counts_match_torchinfo(name):
    build = _lenet if name == "lenet5" else _LSTMNet.build
    size, dtypes = ((2, 1, 28, 28), None) if name == "lenet5" else ((2, 10), [lw.int64])
    s = summary(build(lw), input_size=size, dtypes=dtypes, verbose=0)
    t = torchinfo.summary(build(torch), input_size=size, dtypes=[torch.long] if dtypes else None,
                          verbose=0)
    assert s.total_params == t.total_params == sum(p.numel() for p in build(lw).parameters())
    leaf_t = [(type(l.module).__name__, list(l.output_size), l.num_params)
              for l in t.summary_list if l.is_leaf_layer]
    leaf_l = [(r.type, list(r.output_shapes[0]), r.params) for r in s.rows if r.is_leaf]
    # (for the LSTM, whose output is (output, (h_n, c_n)), both show the first tensor's shape)
    assert leaf_l == leaf_t


def test_conv2d_1_8_5_counts_208_and_untied_bias_counts_every_cell():
    s = summary(lw.nn.Conv2d(1, 8, 5), input_size=(1, 1, 28, 28), verbose=0)
    assert s.total_params == 208 == 8 * 1 * 5 * 5 + 8
    u = summary(lw.nn.Conv2d(1, 8, 5, bias="untied", input_size=(28, 28)), input_size=(1, 1, 28, 28), verbose=0)
    assert u.total_params == 8 * 25 + 8 * 24 * 24
