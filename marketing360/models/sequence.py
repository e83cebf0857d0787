"""Sequence networks over ad exposures (GRU, GRU with additive attention) and their training loop.

The deep attribution models (:class:`~marketing360.attribution.DeepMTA`) are
built on these; they need PyTorch (``pip install 'marketing360[deep]'``) and
run on the CPU.

Examples
--------
>>> import numpy as np
>>> from marketing360._optional import import_optional
>>> torch = import_optional("torch", purpose="the doctest")
>>> net = sequence_net(n_channels=3, n_context=2, arch="attention", embed=4, hidden=8, random_state=0)
>>> with torch.no_grad():
...     logit, att = net(torch.tensor([[1, 2, 0]]), torch.zeros(1, 3), torch.tensor([2]), torch.zeros(1, 2),
...                      return_attention=True)
>>> tuple(logit.shape), [round(float(a), 6) for a in att[0, 2:]]
((1,), [0.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._optional import import_optional
from ..errors import ParameterError

__all__ = ["sequence_net", "train_binary", "predict_proba"]


def sequence_net(*, n_channels: int, n_context: int, arch: str, embed: int, hidden: int,
                 random_state: int | None = 0) -> Any:
    """A network scoring a padded sequence of (channel id, log hours) plus context features.

    ``arch="rnn"``: a GRU whose last state, with the context, feeds a small
    head (Du et al. 2019); ``arch="attention"``: the GRU's states are pooled by
    additive attention with a learned time decay (DNAMTA, Li et al. 2018).
    Channel ids start at 1 (0 is padding, after the touches). ``forward``
    returns the conversion logit (and the attention weights when asked).
    ``random_state`` seeds the initial weights without touching torch's
    global generator (None: draw from it).
    """
    torch = import_optional("torch", purpose="deep sequence models")
    if arch not in ("rnn", "attention"):
        raise ParameterError(f"arch must be 'rnn' or 'attention'; found {arch!r}")
    nn = torch.nn

    class SequenceNet(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(n_channels + 1, embed, padding_idx=0)
            self.gru = nn.GRU(embed + 1, hidden, batch_first=True)
            if arch == "attention":
                self.att = nn.Linear(hidden, hidden)
                self.att_v = nn.Linear(hidden, 1, bias=False)
                self.decay = nn.Parameter(torch.zeros(1))
            self.head = nn.Sequential(nn.Linear(hidden + n_context, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, tokens: Any, hours: Any, lengths: Any, context: Any, return_attention: bool = False) -> Any:
            x = torch.cat([self.emb(tokens), hours.unsqueeze(-1)], dim=-1)
            out, _ = self.gru(x)  # (B, L, H); padding sits after the touches
            valid = torch.arange(tokens.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            if arch == "attention":
                score = self.att_v(torch.tanh(self.att(out))).squeeze(-1) - torch.nn.functional.softplus(
                    self.decay) * hours
                score = score.masked_fill(~valid, -1e9)
                a = torch.softmax(score, dim=1) * valid
                ctx = (a.unsqueeze(-1) * out).sum(dim=1)
            else:
                last = (lengths - 1).clamp(min=0)
                ctx = out[torch.arange(out.shape[0]), last] * (lengths > 0).unsqueeze(1)
                a = None
            logit = self.head(torch.cat([ctx, context], dim=1)).squeeze(-1)
            return (logit, a) if return_attention else logit

    if random_state is None:
        return SequenceNet()
    with torch.random.fork_rng(devices=[]):  # seeded initial weights; the caller's torch generator is untouched
        torch.manual_seed(int(random_state))
        return SequenceNet()


def train_binary(net: Any, tensors: Sequence[Any], rows: np.ndarray, labels: np.ndarray, weights: np.ndarray, *,
                 epochs: int, batch_size: int, lr: float, weight_decay: float, random_state: int | None = 0,
                 progress: bool = True, desc: str = "training") -> list[float]:
    """Adam on the weighted log loss of ``net(*tensors[rows])`` against ``labels``; returns the loss per epoch.

    ``rows`` index the tensors (a journey may appear as a converting and a
    non-converting example); the same ``random_state`` gives the same model.
    """
    torch = import_optional("torch", purpose="deep sequence models")
    from tqdm.auto import tqdm

    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = np.random.default_rng(random_state)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    y = torch.from_numpy(labels.astype(np.float32))
    w = torch.from_numpy((weights / weights.mean()).astype(np.float32))
    steps = math.ceil(len(rows) / batch_size)
    history: list[float] = []
    bar = tqdm(total=epochs * steps, disable=not progress, desc=desc, unit="batch")
    net.train()
    for _ in range(epochs):
        order = gen.permutation(len(rows))
        total = 0.0
        for s in range(steps):
            b = torch.from_numpy(order[s * batch_size:(s + 1) * batch_size])
            idx = torch.from_numpy(rows)[b]
            logit = net(*(t[idx] for t in tensors))
            loss = (loss_fn(logit, y[b]) * w[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
            bar.update(1)
        history.append(total / len(rows))
        bar.set_postfix(loss=f"{history[-1]:.4f}")
    bar.close()
    net.eval()
    return history


def predict_proba(net: Any, tokens: np.ndarray, hours: np.ndarray, lengths: np.ndarray, context: np.ndarray,
                  *, batch: int = 8192) -> np.ndarray:
    """Conversion probabilities of padded sequences, in batches, without gradients."""
    torch = import_optional("torch", purpose="deep sequence models")
    out = np.empty(len(tokens), dtype=np.float64)
    with torch.no_grad():
        for s in range(0, len(tokens), batch):
            sl = slice(s, s + batch)
            logit = net(torch.from_numpy(tokens[sl]), torch.from_numpy(hours[sl]),
                        torch.from_numpy(lengths[sl]), torch.from_numpy(context[sl]))
            out[sl] = torch.sigmoid(logit).numpy()
    return out
