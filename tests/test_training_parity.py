"""Training parity: the same model, weights and batches in torch and layerwise give the same losses."""
import numpy as np
import torch

import layerwise as lw
from layerwise.models.charlstm import CharLSTM
from parity import copy_torch_params


class TorchCharLSTM(torch.nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed)
        self.lstm = torch.nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, idx):
        out, _ = self.lstm(self.embedding(idx))
        return self.head(out)


def test_char_lstm_tracks_torch_loss_over_200_steps():
    vocab, T, B = 30, 32, 16
    rng = np.random.default_rng(0)
    # a learnable sequence: a noisy repeating pattern over the vocabulary
    text = (np.arange(5000) * 7 % vocab + (rng.random(5000) < 0.1) * rng.integers(0, vocab, 5000)) % vocab
    starts = rng.integers(0, len(text) - T - 1, (200, B))
    torch.manual_seed(0)
    tm = TorchCharLSTM(vocab, 16, 64, 2)
    lm = CharLSTM(vocab, 16, 64, 2)
    copy_torch_params(tm, lm)
    topt = torch.optim.Adam(tm.parameters(), lr=3e-3)
    lopt = lw.optim.Adam(lm.parameters(), lr=3e-3)
    t_losses, l_losses = [], []
    for s in starts:
        w = np.stack([text[i:i + T + 1] for i in s]).astype(np.int64)
        x, y = w[:, :-1], w[:, 1:]
        tl = torch.nn.functional.cross_entropy(tm(torch.tensor(x)).reshape(-1, vocab), torch.tensor(y).reshape(-1))
        topt.zero_grad()
        tl.backward()
        topt.step()
        ll = lw.nn.functional.cross_entropy(lm(lw.tensor(x))[0].reshape(-1, vocab), lw.tensor(y).reshape(-1))
        lopt.zero_grad()
        ll.backward()
        lopt.step()
        t_losses.append(tl.item())
        l_losses.append(ll.item())
    t_losses, l_losses = np.array(t_losses), np.array(l_losses)
    assert t_losses[-20:].mean() < 0.6 * t_losses[:5].mean()            # it really learned
    assert np.max(np.abs(l_losses - t_losses) / t_losses) < 0.01         # within 1% at every step
