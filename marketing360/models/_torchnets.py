"""The torch modules behind :class:`~marketing360.models.DeepClassifier` (imported only when torch is needed).

Module-level classes, so that a fitted network pickles, and exports
(``torch.export``) for serving. Every network takes three tensors, the categorical
ids ``(B, n_cat)`` (0: unknown), the raw numeric features ``(B, n_num)``
(standardised inside) and a padded behaviour sequence ``(B, L)`` (0: padding;
``L`` may be 0), and returns the probabilities of its tasks ``(B, T)``.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F


class CrossLayer(nn.Module):
    """DCN-V2's cross layer ``x_{l+1} = x_0 * (W x_l + b) + x_l``; ``W = U V^T`` when ``rank`` is given."""

    def __init__(self, dim: int, rank: int) -> None:
        super().__init__()
        if rank > 0:
            self.v = nn.Linear(dim, rank, bias=False)
            self.u = nn.Linear(rank, dim)
            self.w = None
        else:
            self.w = nn.Linear(dim, dim)

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.w is not None:
            return x0 * self.w(x) + x
        return x0 * self.u(self.v(x)) + x


def mlp(dims: list[int], dropout: float) -> nn.Sequential:
    """Linear + ReLU (+ dropout) layers through ``dims``."""
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Embeddings of the categorical columns, standardised numerics, and the behaviour sequence pooled.

    ``pooling="din"``: DIN's activation unit (Zhou et al., KDD 2018) weighs
    each behaviour by an MLP of ``[q, k, q - k, q * k]`` with the query ``q``
    the embedding of the categorical column ``target`` (un-normalised weights,
    as in the paper, so the intensity of interest survives); ``"mean"``: the
    average of the behaviours' embeddings. Behaviours share the target
    column's embedding table when ``share`` (they are items of its vocabulary).
    """

    def __init__(self, cardinalities: list[int], mean: torch.Tensor, scale: torch.Tensor, embed: int,
                 seq_vocab: int, target: int, share: bool, pooling: str, attention_hidden: int) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList([nn.Embedding(c + 1, embed) for c in cardinalities])
        self.mean: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.n_cat = len(cardinalities)
        self.n_num = int(mean.numel())
        self.has_seq = seq_vocab > 0
        self.target = target
        self.share = share
        self.din = pooling == "din"
        self.seq_embedding = nn.Embedding(seq_vocab + 1 if seq_vocab > 0 and not share else 1, embed,
                                          padding_idx=0)
        self.attention = nn.Sequential(nn.Linear(4 * embed, attention_hidden), nn.ReLU(),
                                       nn.Linear(attention_hidden, 1))
        self.dim = self.n_cat * embed + self.n_num + (embed if self.has_seq else 0)

    def _seq_embed(self, seq: torch.Tensor) -> torch.Tensor:
        return self.embeddings[self.target](seq) if self.share else self.seq_embedding(seq)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        parts = [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        if self.n_num > 0:
            parts.append((num - self.mean) / self.scale)
        if self.has_seq:
            keys = self._seq_embed(seq)  # (B, L, E)
            valid = (seq > 0).unsqueeze(-1).to(keys.dtype)
            if self.din:
                q = parts[self.target].unsqueeze(1).expand_as(keys)
                w = self.attention(torch.cat([q, keys, q - keys, q * keys], dim=-1)) * valid
                parts.append((w * keys).sum(dim=1))
            else:
                parts.append((keys * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0))
        return torch.cat(parts, dim=1)


class CrossNetwork(nn.Module):
    """A stack of cross layers (none: the identity)."""

    def __init__(self, dim: int, layers: int, rank: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([CrossLayer(dim, rank) for _ in range(layers)])

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:
            x = layer(x0, x)
        return x


class DeepNet(nn.Module):
    """Encoder, DCN-V2 cross network, deep part and the task heads.

    Each task's logit is its tower over the deep part (which reads the cross
    network's output) plus a linear function of the cross network's output.

    ``head="shared"``: one deep tower, a logit per task. ``"esmm"``: the tasks
    form a funnel (Ma et al., SIGIR 2018, Entire Space Multi-task Model): task
    ``k``'s probability is the product of the sigmoids of the first ``k + 1``
    logits, each a conditional step learned on the entire space.
    ``"mmoe"``: ``experts`` deep towers mixed per task by a softmax gate of
    the input (Ma et al., KDD 2018), one tower per task.

    Every logit then passes through its task's ``calibration_scale`` and
    ``calibration_shift`` (buffers: 1 and 0 while training; Platt scaling
    sets them afterwards).
    """

    def __init__(self, encoder: Encoder, cross_layers: int, cross_rank: int, hidden: list[int], head: str,
                 n_tasks: int, experts: int, tower: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        d = encoder.dim
        self.cross = CrossNetwork(d, cross_layers, cross_rank)
        self.head = head
        self.esmm = head == "esmm"
        self.n_tasks = n_tasks
        top = hidden[-1] if hidden else d
        n_exp = experts if head == "mmoe" else 1
        self.experts = nn.ModuleList([mlp([d] + hidden, dropout) for _ in range(n_exp)])
        self.gates = nn.ModuleList([nn.Linear(d, n_exp) for _ in range(n_tasks if head == "mmoe" else 0)])
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(top, tower), nn.ReLU(), nn.Linear(tower, 1))
                                     for _ in range(n_tasks)])
        # a linear path from the cross network's output to each logit (DCN's final layer sees the cross output
        # as well as the deep one): the network holds logistic regression on its inputs as a special case
        self.linear = nn.Linear(d, n_tasks)
        # Platt scaling of each logit, fitted after training (the identity until then)
        self.calibration_scale: torch.Tensor
        self.calibration_shift: torch.Tensor
        self.register_buffer("calibration_scale", torch.ones(n_tasks))
        self.register_buffer("calibration_shift", torch.zeros(n_tasks))

    def logits(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        """One logit per task (for ESMM: of each conditional step), calibrated."""
        return self.raw_logits(cat, num, seq) * self.calibration_scale + self.calibration_shift

    def raw_logits(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        """The logits before calibration."""
        x0 = self.encoder(cat, num, seq)
        x = self.cross(x0)
        outs = [e(x) for e in self.experts]
        logits = []
        if self.head == "mmoe":
            stacked = torch.stack(outs, dim=1)  # (B, E, H)
            for gate, tower in zip(self.gates, self.towers):
                g = torch.softmax(gate(x), dim=1).unsqueeze(-1)
                logits.append(tower((g * stacked).sum(dim=1)))
        else:
            for tower in self.towers:
                logits.append(tower(outs[0]))
        return torch.cat(logits, dim=1) + self.linear(x)

    def log_probs(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log p`` and ``log (1 - p)`` of each task, computed stably."""
        return log_probs(self.logits(cat, num, seq), self.esmm)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        z = self.logits(cat, num, seq)
        if self.esmm:
            return torch.exp(torch.cumsum(F.logsigmoid(z), dim=1))
        return torch.sigmoid(z)


def log_probs(z: torch.Tensor, esmm: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``log p`` and ``log (1 - p)`` of each task from the logits ``z`` (ESMM: of the funnel's steps), stably."""
    if not esmm:
        return F.logsigmoid(z), F.logsigmoid(-z)
    log_p = torch.cumsum(F.logsigmoid(z), dim=1)
    # log(1 - exp(a)) for a < 0, the two branches of Maechler's log1mexp
    # (each branch fed only values where it is finite: torch.where passes gradients through both)
    a = log_p.clamp(max=-1e-12)
    near = a > -0.6931
    log_q = torch.where(near, torch.log(-torch.expm1(torch.where(near, a, -1.0))),
                        torch.log1p(-torch.exp(torch.where(near, -1.0, a))))
    return log_p, log_q


class Ensemble(nn.Module):
    """The mean of cross-fitted networks' probabilities (``DeepClassifier(folds=k)``), each network calibrated
    alike; its ``calibration_scale`` and ``calibration_shift`` are theirs."""

    def __init__(self, members: list[DeepNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.esmm = members[0].esmm

    @property
    def calibration_scale(self) -> torch.Tensor:
        return cast(torch.Tensor, self.members[0].calibration_scale)

    @property
    def calibration_shift(self) -> torch.Tensor:
        return cast(torch.Tensor, self.members[0].calibration_shift)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(cat, num, seq) for m in self.members]).mean(dim=0)
