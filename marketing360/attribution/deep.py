"""Deep, causal, incremental multi-touch attribution (JD style) and a DNAMTA attention baseline.

Following Du, Zhong, Nair, Cui & Shou (2019), a recurrent network learns the
probability of conversion from the sequence of ad exposures (channel, time
before the journey's end), the consumer's features and journey-level controls
(the brand, and the days the journey had since the previous conversion). A conversion is then
credited to its exposures by **Shapley values computed on the model's
predictions**, with the no-ad prediction removed first, so only the
*incremental* probability ``f(journey) - f(no ads)`` is distributed:
negative contributions are clipped to zero and the shares rescaled to that
increment. Shapley values are exact (all ``2^m`` subsets) when a journey has
at most ``exact_max`` players, Monte Carlo over random permutations otherwise.
Players are the exposures (``players="touch"``) or, faster, the channels of
the journey (``players="channel"``: all exposures of a channel in or out together).

The ``attention`` architecture is the DNAMTA model of Li et al. (2018):
a GRU with additive attention over the touchpoints plus a learned
time-decay term; :meth:`DeepMTA.attention_credit` gives its own attribution
(conversions shared by attention weight) as the baseline it was proposed as.

Needs PyTorch (``pip install 'marketing360[deep]'``); runs on CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._optional import import_optional
from ..errors import NotFittedError, ParameterError
from .journeys import JOURNEY_KEY, Journeys
from .result import Attribution
from ..models.shapley import exact_shapley

__all__ = ["DeepMTA", "JourneySequences", "journey_sequences"]


@dataclass
class JourneySequences:
    """Journeys as padded arrays (most recent ``max_len`` touches, oldest first).

    ``tokens`` hold channel ids (``channels[i - 1]``; 0 = padding), ``hours``
    the log1p of hours before the journey's end, ``lengths`` the touches kept;
    ``conversions`` / ``nulls`` / ``value`` the journeys' outcomes, ``window``
    the days each journey had (0 when unknown), ``users`` their consumer ids,
    ``touch_index`` the touch number of each kept position.
    """

    channels: list[str]
    tokens: np.ndarray
    hours: np.ndarray
    lengths: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    window: np.ndarray
    users: np.ndarray
    keys: pd.DataFrame
    touch_index: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)


def journey_sequences(journeys: Journeys, *, max_len: int = 30, channels: list[str] | None = None
                      ) -> JourneySequences:
    """Fetch journeys from their engine as padded sequences (see :class:`JourneySequences`)."""
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    if not (isinstance(max_len, int) and max_len >= 1):
        raise ParameterError(f"max_len must be a positive integer; found {max_len!r}")
    key = list(JOURNEY_KEY)
    t = journeys.touches
    t = t.filter(t.touch > t.n_touches - max_len)
    jt, tp, row = journeys.fetch(t.select(*key, "touch", "n_touches", "channel", "hours"),
                                 "conversions", "nulls", "value", "window_days")
    known = sorted(tp.channel.astype(str).unique()) if channels is None else list(channels)
    unknown = sorted(set(tp.channel.astype(str)) - set(known))
    if unknown:
        raise ParameterError(f"channels {unknown} were not seen when the model was fitted; known: {known}")
    n = len(jt)
    first = np.maximum(tp.n_touches.to_numpy() - max_len, 0)
    pos = tp.touch.to_numpy() - 1 - first
    tokens = np.zeros((n, max_len), dtype=np.int64)
    hours = np.zeros((n, max_len), dtype=np.float32)
    index = np.zeros((n, max_len), dtype=np.int64)
    tokens[row, pos] = pd.Index(known).get_indexer(tp.channel.astype(str)) + 1
    h = tp.hours.to_numpy(float)
    hours[row, pos] = np.log1p(np.where(np.isfinite(h), h, 0.0))
    index[row, pos] = tp.touch.to_numpy()
    lengths = np.bincount(row, minlength=n).astype(np.int64)
    return JourneySequences(known, tokens, hours, lengths, jt.conversions.to_numpy(float),
                            jt.nulls.to_numpy(float), jt.value.fillna(0.0).to_numpy(float),
                            jt.window_days.fillna(0.0).to_numpy(float), jt.user_id.to_numpy(), jt[key], index)


def _user_matrix(users: pd.DataFrame | None, ids: np.ndarray, spec: dict[str, Any] | None
                 ) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Consumer features as a float matrix (one-hot categories, standardised numbers), by ``ids``."""
    if users is None:
        return np.zeros((len(ids), 0), dtype=np.float32), None
    if "user_id" not in users.columns:
        raise ParameterError("user_features needs a user_id column")
    u = users.drop_duplicates("user_id").set_index("user_id")
    if spec is None:
        spec = {"numeric": {}, "categorical": {}}
        for c in u.columns:
            if pd.api.types.is_numeric_dtype(u[c]) and not pd.api.types.is_bool_dtype(u[c]):
                s = u[c].astype(float)
                spec["numeric"][c] = (float(s.mean()), float(s.std() or 1.0))
            else:
                spec["categorical"][c] = sorted(u[c].astype(str).unique())
    aligned = u.reindex(pd.Index(ids))
    cols = []
    for c, (mu, sd) in spec["numeric"].items():
        cols.append(((aligned[c].astype(float) - mu) / sd).fillna(0.0).to_numpy()[:, None])
    for c, levels in spec["categorical"].items():
        v = aligned[c].astype(str).to_numpy()
        cols.append(np.stack([(v == lv) for lv in levels], axis=1).astype(float))
    x = np.concatenate(cols, axis=1) if cols else np.zeros((len(ids), 0))
    return x.astype(np.float32), spec


def _build_net(torch: Any, n_channels: int, n_user: int, arch: str, embed: int, hidden: int) -> Any:
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(n_channels + 1, embed, padding_idx=0)
            self.gru = nn.GRU(embed + 1, hidden, batch_first=True)
            if arch == "attention":
                self.att = nn.Linear(hidden, hidden)
                self.att_v = nn.Linear(hidden, 1, bias=False)
                self.decay = nn.Parameter(torch.zeros(1))
            self.head = nn.Sequential(nn.Linear(hidden + n_user, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, tokens: Any, hours: Any, lengths: Any, user: Any, return_attention: bool = False) -> Any:
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
            logit = self.head(torch.cat([ctx, user], dim=1)).squeeze(-1)
            return (logit, a) if return_attention else logit

    return Net()


class DeepMTA:
    """JD-style causal incremental MTA on a recurrent network (``arch="rnn"``) or DNAMTA attention.

    Parameters
    ----------
    arch : {"rnn", "attention"}
        GRU reading the exposures (last state) or GRU + attention with time decay (DNAMTA).
    embed, hidden : int
        Channel embedding and hidden sizes.
    epochs, batch_size, lr, weight_decay : training settings (Adam, weighted log loss).
    max_len : int
        Most recent touches a journey keeps.
    seed : int
        Seeds initialisation and shuffling: the same seed gives the same model.
    progress : bool
        Show a progress bar (tqdm) while training.

    Attributes
    ----------
    channels_ : list of str
    history_ : list of float
        Mean training loss per epoch.
    """

    def __init__(self, *, arch: Literal["rnn", "attention"] = "rnn", embed: int = 16, hidden: int = 32,
                 epochs: int = 5, batch_size: int = 512, lr: float = 5e-3, weight_decay: float = 1e-5,
                 max_len: int = 30, seed: int = 0, progress: bool = True) -> None:
        self.arch = arch
        self.embed = embed
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_len = max_len
        self.seed = seed
        self.progress = progress

    # ------------------------------------------------------------------ fitting
    def _check(self) -> None:
        if self.arch not in ("rnn", "attention"):
            raise ParameterError(f"arch must be 'rnn' or 'attention'; found {self.arch!r}")
        for name in ("embed", "hidden", "epochs", "batch_size", "max_len"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ParameterError(f"{name} must be a positive integer; found {v!r}")
        if not self.lr > 0:
            raise ParameterError(f"lr must be positive; found {self.lr!r}")

    def fit(self, journeys: Journeys | JourneySequences, user_features: pd.DataFrame | None = None) -> "DeepMTA":
        """Train on converting and non-converting journeys (with the no-ad ones: they fix the baseline)."""
        torch = import_optional("torch", purpose="deep attribution models")
        self._check()
        seq = journeys if isinstance(journeys, JourneySequences) else journey_sequences(journeys,
                                                                                       max_len=self.max_len)
        if seq.tokens.shape[1] != self.max_len:
            raise ParameterError(f"the sequences keep {seq.tokens.shape[1]} touches but max_len={self.max_len}")
        if seq.conversions.sum() <= 0 or seq.nulls.sum() <= 0:
            raise ParameterError("training needs converting and non-converting journeys")
        user, spec = _user_matrix(user_features, seq.users, None)
        self.user_spec_, self.n_user_features_ = spec, user.shape[1]
        self.brands_ = sorted(str(b) for b in seq.keys["brand"].dropna().unique())
        user = self._with_journey(seq, user)
        torch.manual_seed(self.seed)
        net = _build_net(torch, len(seq.channels), user.shape[1], self.arch, self.embed, self.hidden)
        # every journey twice: as converted (weight = conversions) and as not (weight = nulls)
        idx = np.r_[np.flatnonzero(seq.conversions > 0), np.flatnonzero(seq.nulls > 0)]
        y = np.r_[np.ones((seq.conversions > 0).sum()), np.zeros((seq.nulls > 0).sum())].astype(np.float32)
        w = np.r_[seq.conversions[seq.conversions > 0], seq.nulls[seq.nulls > 0]].astype(np.float32)
        w = w / w.mean()
        tensors = self._tensors(torch, seq, user)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        gen = np.random.default_rng(self.seed)
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
        history = []
        from tqdm.auto import tqdm
        steps = math.ceil(len(idx) / self.batch_size)
        bar = tqdm(total=self.epochs * steps, disable=not self.progress, desc=f"DeepMTA ({self.arch})", unit="batch")
        net.train()
        for _ in range(self.epochs):
            order = gen.permutation(len(idx))
            total = 0.0
            for s in range(steps):
                b = order[s * self.batch_size:(s + 1) * self.batch_size]
                rows = torch.from_numpy(idx[b])
                logit = net(*(t[rows] for t in tensors))
                loss = (loss_fn(logit, torch.from_numpy(y[b])) * torch.from_numpy(w[b])).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                bar.update(1)
            history.append(total / len(idx))
            bar.set_postfix(loss=f"{history[-1]:.4f}")
        bar.close()
        net.eval()
        self.net_, self.channels_, self.history_ = net, seq.channels, history
        return self

    def _with_journey(self, seq: JourneySequences, user: np.ndarray) -> np.ndarray:
        """Consumer features plus journey-level controls: log days at risk and the brand (one-hot)."""
        brand = seq.keys["brand"].astype(str).to_numpy()
        onehot = np.stack([brand == b for b in self.brands_], axis=1) if self.brands_ else np.zeros((len(seq), 0))
        return np.hstack([user, np.log1p(seq.window)[:, None], onehot]).astype(np.float32)

    @staticmethod
    def _tensors(torch: Any, seq: JourneySequences, user: np.ndarray) -> tuple:
        return (torch.from_numpy(seq.tokens), torch.from_numpy(seq.hours), torch.from_numpy(seq.lengths),
                torch.from_numpy(user))

    def _need(self) -> Any:
        if not hasattr(self, "net_"):
            raise NotFittedError("DeepMTA is not fitted; call fit(journeys) first")
        return import_optional("torch", purpose="deep attribution models")

    # ------------------------------------------------------------------ prediction
    def sequences(self, journeys: Journeys) -> JourneySequences:
        """Journeys encoded with the channels the model was fitted on."""
        self._need()
        return journey_sequences(journeys, max_len=self.max_len, channels=self.channels_)

    def predict_proba(self, seq: JourneySequences, user_features: pd.DataFrame | None = None,
                      *, no_ads: bool = False) -> np.ndarray:
        """Conversion probability of each journey (or of the same consumer without any ad)."""
        torch = self._need()
        self._check_sequences(seq)
        user = self._users(seq, user_features)
        lengths = np.zeros_like(seq.lengths) if no_ads else seq.lengths
        with torch.no_grad():
            return self._prob(torch, seq.tokens, seq.hours, lengths, user)

    def _check_sequences(self, seq: JourneySequences) -> None:
        if seq.tokens.shape[1] != self.max_len or seq.channels != self.channels_:
            raise ParameterError(f"these sequences (max_len {seq.tokens.shape[1]}, channels {seq.channels}) do not "
                                 f"match the model (max_len {self.max_len}, channels {self.channels_}); "
                                 "make them with model.sequences(journeys)")

    def _users(self, seq: JourneySequences, user_features: pd.DataFrame | None) -> np.ndarray:
        if self.n_user_features_ and user_features is None:
            raise ParameterError("this model was fitted with user_features; pass them again")
        user = _user_matrix(user_features, seq.users, self.user_spec_)[0] if self.n_user_features_ else \
            np.zeros((len(seq), 0), dtype=np.float32)
        return self._with_journey(seq, user)

    def _prob(self, torch: Any, tokens: np.ndarray, hours: np.ndarray, lengths: np.ndarray, user: np.ndarray,
              batch: int = 8192) -> np.ndarray:
        out = np.empty(len(tokens), dtype=np.float64)
        with torch.no_grad():
            for s in range(0, len(tokens), batch):
                sl = slice(s, s + batch)
                logit = self.net_(torch.from_numpy(tokens[sl]), torch.from_numpy(hours[sl]),
                                  torch.from_numpy(lengths[sl]), torch.from_numpy(user[sl]))
                out[sl] = torch.sigmoid(logit).numpy()
        return out

    # ------------------------------------------------------------------ attribution
    def attribute(self, journeys: Journeys | JourneySequences, user_features: pd.DataFrame | None = None, *,
                  players: Literal["touch", "channel"] = "touch", exact_max: int = 10, n_permutations: int = 64,
                  seed: int = 0, touches: bool = False) -> Attribution:
        """Incremental Shapley credit of the converting journeys' exposures, per channel.

        Parameters
        ----------
        players : {"touch", "channel"}
            Shapley players: each exposure, or each channel of the journey.
        exact_max : int
            Journeys with at most this many players get exact Shapley values
            (``2^m`` model evaluations); others ``n_permutations`` random orders.
        touches : bool
            Also return the per-touchpoint credits (``meta["touches"]``: journey
            key, touch, channel, credit, credit_value).

        Returns
        -------
        Attribution
            Method ``deep_<arch>``: per channel, the conversions (and value)
            credited; their sum is the incremental part of the conversions,
            ``sum over converting journeys of (f(x) - f(no ads)) / f(x)``.
        """
        torch = self._need()
        if players not in ("touch", "channel"):
            raise ParameterError(f"players must be 'touch' or 'channel'; found {players!r}")
        if not (isinstance(exact_max, int) and 0 <= exact_max <= 16):
            raise ParameterError(f"exact_max must be an integer from 0 to 16; found {exact_max!r}")
        if not (isinstance(n_permutations, int) and n_permutations >= 1):
            raise ParameterError(f"n_permutations must be a positive integer; found {n_permutations!r}")
        seq = journeys if isinstance(journeys, JourneySequences) else self.sequences(journeys)
        self._check_sequences(seq)
        user = self._users(seq, user_features)
        conv_rows = np.flatnonzero((seq.conversions > 0) & (seq.lengths > 0))
        rng = np.random.default_rng(seed)
        credit = np.zeros(seq.tokens.shape, dtype=np.float64)  # per kept touch position
        credit[conv_rows] = self._credits(torch, seq, user, conv_rows, players, exact_max, n_permutations, rng)
        scale = seq.conversions[:, None]
        conv = credit * scale
        val = credit * seq.value[:, None]
        k = len(self.channels_)
        tok = seq.tokens
        per_c = np.bincount(tok.ravel(), conv.ravel(), k + 1)[1:]
        per_v = np.bincount(tok.ravel(), val.ravel(), k + 1)[1:]
        frame = pd.DataFrame({"method": f"deep_{self.arch}", "channel": self.channels_,
                              "conversions": per_c, "value": per_v})
        meta: dict[str, Any] = {"players": players, "exact_max": exact_max, "n_permutations": n_permutations}
        if touches:
            is_conv = np.zeros(len(seq), dtype=bool)
            is_conv[conv_rows] = True
            rr, cc = np.nonzero((tok > 0) & is_conv[:, None])
            tab = seq.keys.iloc[rr].reset_index(drop=True)
            tab["touch"] = seq.touch_index[rr, cc]
            tab["channel"] = np.array(self.channels_)[tok[rr, cc] - 1]
            tab["credit"] = conv[rr, cc]
            tab["credit_value"] = val[rr, cc]
            meta["touches"] = tab
        return Attribution(frame, **meta)

    def _credits(self, torch: Any, seq: JourneySequences, user: np.ndarray, rows: np.ndarray, players: str,
                 exact_max: int, n_perm: int, rng: np.random.Generator, batch_rows: int = 16384) -> np.ndarray:
        """Clipped, rescaled Shapley shares of the kept touches of ``rows`` (one row each).

        The coalitions of many journeys go through the network together, in
        batches of about ``batch_rows`` sequences.
        """
        out = np.zeros((len(rows), self.max_len))
        plans, pending, size = [], [], 0
        for i, r in enumerate(rows):
            plan = self._coalitions(seq, int(r), players, exact_max, n_perm, rng)
            plans.append((i, int(r), plan))
            size += len(plan[0])
            if size >= batch_rows:
                pending.append(plans)
                plans, size = [], 0
        if plans:
            pending.append(plans)
        for chunk in pending:
            tok = np.concatenate([p[2][1] for p in chunk])
            hrs = np.concatenate([p[2][2] for p in chunk])
            lens = np.concatenate([p[2][3] for p in chunk])
            u = np.concatenate([np.repeat(user[r:r + 1], len(p[1]), axis=0) for _, r, p in chunk])
            v_all = self._prob(torch, tok, hrs, lens, u)
            start = 0
            for i, r, plan in chunk:
                m = len(plan[1])
                out[i] = self._shares(seq, r, plan, v_all[start:start + m], exact_max)
                start += m
        return out

    def _coalitions(self, seq: JourneySequences, r: int, players: str, exact_max: int, n_perm: int,
                    rng: np.random.Generator) -> tuple:
        """The sequences to evaluate for one journey: exact subsets or permutation prefixes."""
        n = int(seq.lengths[r])
        tok, hrs = seq.tokens[r, :n], seq.hours[r, :n]
        groups = np.arange(n) if players == "touch" else np.unique(tok, return_inverse=True)[1]
        m = int(groups.max()) + 1
        perms = None
        if m <= exact_max:
            coalitions = ((np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
        else:
            perms = np.stack([rng.permutation(m) for _ in range(n_perm)])
            # prefixes of each permutation: the coalition after the first j players joined
            coalitions = np.zeros((n_perm, m + 1, m), dtype=bool)
            for j in range(1, m + 1):
                coalitions[:, j] = coalitions[:, j - 1]
                coalitions[np.arange(n_perm), j, perms[:, j - 1]] = True
            coalitions = coalitions.reshape(-1, m)
        keep = coalitions[:, groups]  # coalitions x touches
        order = np.argsort(~keep, axis=1, kind="stable")  # kept touches first, in time order
        kept = np.take_along_axis(keep, order, 1)
        tokens = np.zeros((len(keep), self.max_len), dtype=np.int64)
        hours = np.zeros((len(keep), self.max_len), dtype=np.float32)
        tokens[:, :n] = np.where(kept, tok[order], 0)
        hours[:, :n] = np.where(kept, hrs[order], 0.0)
        return (groups, tokens, hours, keep.sum(axis=1).astype(np.int64), perms, m)

    def _shares(self, seq: JourneySequences, r: int, plan: tuple, v: np.ndarray, exact_max: int) -> np.ndarray:
        groups, _, _, _, perms, m = plan
        n = int(seq.lengths[r])
        if perms is None:
            phi = exact_shapley(v)
            full, empty = v[-1], v[0]
        else:
            n_perm = len(perms)
            v = v.reshape(n_perm, m + 1)
            marg = np.diff(v, axis=1)  # marginal contribution of the j-th player to join
            phi = np.zeros(m)
            np.add.at(phi, perms.ravel(), marg.ravel())
            phi /= n_perm
            full, empty = v[0, -1], v[0, 0]
        lift = max(full - empty, 0.0)
        pos = np.clip(phi, 0.0, None)
        share = pos / pos.sum() * (lift / full) if pos.sum() > 0 and full > 0 else np.zeros(m)
        counts = np.bincount(groups, minlength=m)  # a channel player's share goes to its touches equally
        out = np.zeros(self.max_len)
        out[:n] = share[groups] / counts[groups]
        return out

    def attention_credit(self, journeys: Journeys | JourneySequences,
                         user_features: pd.DataFrame | None = None) -> Attribution:
        """DNAMTA's attribution: each conversion shared by the attention weights of its touches."""
        torch = self._need()
        if self.arch != "attention":
            raise ParameterError("attention_credit needs a model fitted with arch='attention'")
        seq = journeys if isinstance(journeys, JourneySequences) else self.sequences(journeys)
        self._check_sequences(seq)
        user = self._users(seq, user_features)
        rows = np.flatnonzero((seq.conversions > 0) & (seq.lengths > 0))
        with torch.no_grad():
            _, a = self.net_(*(t[torch.from_numpy(rows)] for t in self._tensors(torch, seq, user)),
                             return_attention=True)
        a = a.numpy()
        k = len(self.channels_)
        tok = seq.tokens[rows]
        conv = a * seq.conversions[rows, None]
        val = a * seq.value[rows, None]
        frame = pd.DataFrame({"method": "dnamta_attention", "channel": self.channels_,
                              "conversions": np.bincount(tok.ravel(), conv.ravel(), k + 1)[1:],
                              "value": np.bincount(tok.ravel(), val.ravel(), k + 1)[1:]})
        return Attribution(frame)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (weights, settings, channels, feature encoding) to one file."""
        torch = self._need()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        torch.save({"params": self.get_params(), "state": self.net_.state_dict(), "channels": self.channels_,
                    "user_spec": self.user_spec_, "n_user": self.n_user_features_, "history": self.history_,
                    "brands": self.brands_}, tmp)
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> "DeepMTA":
        """Read a model written by :meth:`save`."""
        torch = import_optional("torch", purpose="deep attribution models")
        blob = torch.load(Path(path), weights_only=False)
        self = cls(**blob["params"])
        self.brands_ = blob["brands"]
        self.net_ = _build_net(torch, len(blob["channels"]), blob["n_user"] + 1 + len(self.brands_), self.arch,
                               self.embed, self.hidden)
        self.net_.load_state_dict(blob["state"])
        self.net_.eval()
        self.channels_, self.user_spec_ = blob["channels"], blob["user_spec"]
        self.n_user_features_, self.history_ = blob["n_user"], blob["history"]
        return self

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("arch", "embed", "hidden", "epochs", "batch_size", "lr",
                                              "weight_decay", "max_len", "seed", "progress")}
