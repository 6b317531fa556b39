"""Recurrent-layer workloads: one training step (forward, loss = mean of squared outputs,
backward through time, SGD step) on a (T, B, 64) float32 batch."""
import numpy as np

from .registry import workload


def _train_step(lib, make, T, B=32, input_size=64):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((T, B, input_size)).astype(np.float32))
    model = make(lib.nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        out, _ = model(x)
        loss = (out * out).mean()
        loss.backward()
        opt.step()
    return step


@workload("rnn_tanh_step", "RNN(64, 128) tanh, B=32, T=50: forward, mean(out²), backward, SGD step")
def rnn_tanh_step(lib):
    return _train_step(lib, lambda nn: nn.RNN(64, 128), T=50)


@workload("lstm_step", "LSTM(64, 128), B=32, T=50: forward, mean(out²), backward, SGD step")
def lstm_step(lib):
    return _train_step(lib, lambda nn: nn.LSTM(64, 128), T=50)


@workload("gru_step", "GRU(64, 128), B=32, T=50: forward, mean(out²), backward, SGD step")
def gru_step(lib):
    return _train_step(lib, lambda nn: nn.GRU(64, 128), T=50)


@workload("lstm2_256_T100_step",
          "2-layer LSTM(64, 256), B=32, T=100: forward, mean(out²), backward, SGD step")
def lstm2_256_t100_step(lib):
    return _train_step(lib, lambda nn: nn.LSTM(64, 256, num_layers=2), T=100)
