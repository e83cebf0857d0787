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

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._optional import import_optional
from .._progress import Progress, show
from ..errors import ParameterError
from ..estimators import Estimator, check_random_state
from ..models.sequence import predict_proba, sequence_net, train_binary
from ..models.shapley import exact_shapley
from ..paths import Journeys, JourneySequences, journey_sequences
from ..types import Architecture, Players
from .result import Attribution, Bootstrap

__all__ = ["DeepMTA"]


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


class DeepMTA(Estimator):
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
    players : {"touch", "channel"}
        Shapley players of :meth:`attribute`: each exposure, or each channel of the journey.
    exact_max : int
        Journeys with at most this many players get exact Shapley values
        (``2^m`` model evaluations); others ``n_permutations`` random orders.
    n_permutations : int
    random_state : int, numpy Generator or None
        Seeds initialisation, shuffling and the Shapley permutations: the same
        int gives the same model and credits (a Generator or None: a seed drawn from it
        at each fit).
    progress : bool or "auto"
        Show progress bars (tqdm) while training and attributing (``"auto"``: in a notebook).

    Attributes
    ----------
    channels_ : list of str
    brands_ : list of str
    history_ : list of float
        Mean training loss per epoch.
    net_ : torch.nn.Module
    """

    def __init__(self, *, arch: Architecture = "rnn", embed: int = 16, hidden: int = 32, epochs: int = 5,
                 batch_size: int = 512, lr: float = 5e-3, weight_decay: float = 1e-5, max_len: int = 30,
                 players: Players = "touch", exact_max: int = 10, n_permutations: int = 64,
                 random_state: int | None = 0, progress: Progress = "auto") -> None:
        self.arch = arch
        self.embed = embed
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_len = max_len
        self.players = players
        self.exact_max = exact_max
        self.n_permutations = n_permutations
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if self.arch not in ("rnn", "attention"):
            raise ParameterError(f"arch must be 'rnn' or 'attention'; found {self.arch!r}")
        for name in ("embed", "hidden", "epochs", "batch_size", "max_len", "n_permutations"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ParameterError(f"{name} must be a positive integer; found {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ParameterError(f"lr must be positive; found {self.lr!r}")
        if self.players not in ("touch", "channel"):
            raise ParameterError(f"players must be 'touch' or 'channel'; found {self.players!r}")
        if not (isinstance(self.exact_max, int) and 0 <= self.exact_max <= 16):
            raise ParameterError(f"exact_max must be an integer from 0 to 16; found {self.exact_max!r}")
        check_random_state(self.random_state)  # None, an int or a numpy Generator

    def fit(self, journeys: Journeys | JourneySequences, user_features: pd.DataFrame | None = None) -> "DeepMTA":
        """Train on converting and non-converting journeys (with the no-ad ones: they fix the baseline)."""
        torch = import_optional("torch", purpose="deep attribution models")
        self._check_params()
        seq = journeys if isinstance(journeys, JourneySequences) else journey_sequences(
            _journeys(journeys), max_len=self.max_len)
        if seq.tokens.shape[1] != self.max_len:
            raise ParameterError(f"the sequences keep {seq.tokens.shape[1]} touches but max_len={self.max_len}")
        if not seq.channels:
            raise ParameterError("DeepMTA: the journeys have no touchpoints; nothing to attribute")
        if seq.conversions.sum() <= 0 or seq.nulls.sum() <= 0:
            raise ParameterError("training needs converting and non-converting journeys")
        user, spec = _user_matrix(user_features, seq.users, None)
        brands = sorted(str(b) for b in seq.keys["brand"].dropna().unique())
        context = self._with_journey(seq, user, brands)
        seed = self.random_state
        if not isinstance(seed, (int, np.integer)):  # None or a Generator: one int seed for this fit
            seed = int(check_random_state(seed).integers(2**31))
        net = sequence_net(n_channels=len(seq.channels), n_context=context.shape[1], arch=self.arch,
                           embed=self.embed, hidden=self.hidden, random_state=seed)
        # every journey twice: as converted (weight = conversions) and as not (weight = nulls)
        rows = np.r_[np.flatnonzero(seq.conversions > 0), np.flatnonzero(seq.nulls > 0)]
        labels = np.r_[np.ones((seq.conversions > 0).sum()), np.zeros((seq.nulls > 0).sum())]
        weights = np.r_[seq.conversions[seq.conversions > 0], seq.nulls[seq.nulls > 0]]
        history = train_binary(net, self._tensors(torch, seq, context), rows, labels, weights,
                               epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                               weight_decay=self.weight_decay, random_state=seed,
                               progress=show(self.progress), desc=f"DeepMTA ({self.arch})")
        # the fitted attributes all at once, after training: an interrupted fit leaves the model as it was
        self.user_spec_, self.n_user_features_, self.brands_ = spec, user.shape[1], brands
        self.history_, self.net_, self.channels_ = history, net, seq.channels
        self._fitted_on: tuple[JourneySequences, pd.DataFrame | None] | None = (seq, user_features)
        return self

    def _with_journey(self, seq: JourneySequences, user: np.ndarray, brands: list[str] | None = None) -> np.ndarray:
        """Consumer features plus journey-level controls: log days at risk and the brand (one-hot)."""
        brands = self.brands_ if brands is None else brands
        brand = seq.keys["brand"].astype(str).to_numpy()
        onehot = np.stack([brand == b for b in brands], axis=1) if brands else np.zeros((len(seq), 0))
        return np.hstack([user, np.log1p(seq.window)[:, None], onehot]).astype(np.float32)

    @staticmethod
    def _tensors(torch: Any, seq: JourneySequences, context: np.ndarray) -> tuple:
        return (torch.from_numpy(seq.tokens), torch.from_numpy(seq.hours), torch.from_numpy(seq.lengths),
                torch.from_numpy(context))

    def _training_journeys(self) -> tuple[JourneySequences, pd.DataFrame | None]:
        if self._fitted_on is None:
            raise ParameterError("this model was loaded from a file: pass the journeys to attribute")
        return self._fitted_on

    def _need(self) -> Any:
        self._check_fitted()
        return import_optional("torch", purpose="deep attribution models")

    # ------------------------------------------------------------------ prediction
    def sequences(self, journeys: Journeys) -> JourneySequences:
        """Journeys encoded with the channels the model was fitted on."""
        self._need()
        return journey_sequences(_journeys(journeys), max_len=self.max_len, channels=self.channels_)

    def predict_proba(self, journeys: Journeys | JourneySequences, user_features: pd.DataFrame | None = None,
                      *, no_ads: bool = False) -> np.ndarray:
        """Conversion probability of each journey (or of the same consumer without any ad)."""
        self._need()
        seq = self._as_sequences(journeys)
        context = self._context(seq, user_features)
        lengths = np.zeros_like(seq.lengths) if no_ads else seq.lengths
        return predict_proba(self.net_, seq.tokens, seq.hours, lengths, context)

    def _as_sequences(self, journeys: Journeys | JourneySequences) -> JourneySequences:
        seq = journeys if isinstance(journeys, JourneySequences) else self.sequences(journeys)
        if seq.tokens.shape[1] != self.max_len or seq.channels != self.channels_:
            raise ParameterError(f"these sequences (max_len {seq.tokens.shape[1]}, channels {seq.channels}) do not "
                                 f"match the model (max_len {self.max_len}, channels {self.channels_}); "
                                 "make them with model.sequences(journeys)")
        return seq

    def _context(self, seq: JourneySequences, user_features: pd.DataFrame | None) -> np.ndarray:
        if self.n_user_features_ and user_features is None:
            raise ParameterError("this model was fitted with user_features; pass them again")
        user = _user_matrix(user_features, seq.users, self.user_spec_)[0] if self.n_user_features_ else \
            np.zeros((len(seq), 0), dtype=np.float32)
        return self._with_journey(seq, user)

    # ------------------------------------------------------------------ attribution
    def attribute(self, journeys: Journeys | JourneySequences | None = None,
                  user_features: pd.DataFrame | None = None) -> Attribution:
        """Incremental Shapley credit of the converting journeys' exposures, per channel.

        ``journeys`` (and ``user_features``) default to the ones fitted on.

        Returns
        -------
        Attribution
            Method ``deep_<arch>``: per channel, the conversions (and value)
            credited; their sum is the incremental part of the conversions,
            ``sum over converting journeys of (f(x) - f(no ads)) / f(x)``.
            ``touch_credit`` holds the credit of every touchpoint (journey
            key, touch, channel, credit, credit_value); the intervals of
            :meth:`~Attribution.conf_int` resample the journeys with the
            fitted network held fixed.
        """
        self._need()
        self._check_params()
        if journeys is None:
            seq, user_features = self._training_journeys()
        else:
            seq = self._as_sequences(journeys)
        context = self._context(seq, user_features)
        conv_rows = np.flatnonzero((seq.conversions > 0) & (seq.lengths > 0))
        rng = check_random_state(self.random_state)
        credit = np.zeros(seq.tokens.shape, dtype=np.float64)  # per kept touch position
        credit[conv_rows] = self._credits(seq, context, conv_rows, rng)
        k = len(self.channels_)
        tok = seq.tokens
        # per journey and channel: the share of one conversion (rows sum to the journey's incremental part)
        share = np.zeros((len(seq), k + 1))
        np.add.at(share, (np.repeat(np.arange(len(seq)), tok.shape[1]), tok.ravel()), credit.ravel())
        share = share[:, 1:]
        conv = share.T @ seq.conversions
        val = share.T @ seq.value
        method = f"deep_{self.arch}"
        frame = pd.DataFrame({"method": method, "channel": self.channels_, "conversions": conv, "value": val})
        is_conv = np.zeros(len(seq), dtype=bool)
        is_conv[conv_rows] = True
        rr, cc = np.nonzero((tok > 0) & is_conv[:, None])
        tab = seq.keys.iloc[rr].reset_index(drop=True)
        tab["touch"] = seq.touch_index[rr, cc]
        tab["channel"] = np.array(self.channels_)[tok[rr, cc] - 1]
        tab["credit"] = credit[rr, cc] * seq.conversions[rr]
        tab["credit_value"] = credit[rr, cc] * seq.value[rr]
        boot = _fixed_share_bootstrap(share, seq.conversions, seq.value, self.channels_)
        return Attribution(frame, key=seq.key, params={method: self.get_params()}, bootstrap={method: boot},
                           touch_credit=tab)

    def _credits(self, seq: JourneySequences, context: np.ndarray, rows: np.ndarray, rng: np.random.Generator,
                 batch_rows: int = 16384) -> np.ndarray:
        """Clipped, rescaled Shapley shares of the kept touches of ``rows`` (one row each).

        The coalitions of many journeys go through the network together, in
        batches of about ``batch_rows`` sequences.
        """
        out = np.zeros((len(rows), self.max_len))
        plans, pending, size = [], [], 0
        for i, r in enumerate(rows):
            plan = self._coalitions(seq, int(r), self.players, self.exact_max, self.n_permutations, rng)
            plans.append((i, int(r), plan))
            size += len(plan[0])
            if size >= batch_rows:
                pending.append(plans)
                plans, size = [], 0
        if plans:
            pending.append(plans)
        from tqdm.auto import tqdm

        for chunk in tqdm(pending, disable=not show(self.progress), desc=f"Shapley credits ({len(rows):,} journeys)",
                          unit="batch"):
            tok = np.concatenate([p[2][1] for p in chunk])
            hrs = np.concatenate([p[2][2] for p in chunk])
            lens = np.concatenate([p[2][3] for p in chunk])
            u = np.concatenate([np.repeat(context[r:r + 1], len(p[1]), axis=0) for _, r, p in chunk])
            v_all = predict_proba(self.net_, tok, hrs, lens, u)
            start = 0
            for i, r, plan in chunk:
                m = len(plan[1])
                out[i] = self._shares(seq, r, plan, v_all[start:start + m])
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

    def _shares(self, seq: JourneySequences, r: int, plan: tuple, v: np.ndarray) -> np.ndarray:
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


    def attention_credit(self, journeys: Journeys | JourneySequences | None = None,
                         user_features: pd.DataFrame | None = None) -> Attribution:
        """DNAMTA's attribution: each conversion shared by the attention weights of its touches."""
        torch = self._need()
        if self.arch != "attention":
            raise ParameterError("attention_credit needs a model fitted with arch='attention'")
        if journeys is None:
            seq, user_features = self._training_journeys()
        else:
            seq = self._as_sequences(journeys)
        context = self._context(seq, user_features)
        rows = np.flatnonzero((seq.conversions > 0) & (seq.lengths > 0))
        with torch.no_grad():
            _, a = self.net_(*(t[torch.from_numpy(rows)] for t in self._tensors(torch, seq, context)),
                             return_attention=True)
        a = a.numpy()
        k = len(self.channels_)
        share = np.zeros((len(seq), k + 1))
        np.add.at(share, (np.repeat(rows, seq.tokens.shape[1]), seq.tokens[rows].ravel()), a.ravel())
        st = share[:, 1:].T
        frame = pd.DataFrame({"method": "dnamta_attention", "channel": self.channels_,
                              "conversions": st @ seq.conversions, "value": st @ seq.value})
        boot = _fixed_share_bootstrap(share[:, 1:], seq.conversions, seq.value, self.channels_)
        return Attribution(frame, key=seq.key, params={"dnamta_attention": self.get_params()},
                           bootstrap={"dnamta_attention": boot})

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (weights, settings, channels, feature encoding) to one file, atomically."""
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
        """Read a model written by :meth:`save` (attribute then needs journeys)."""
        torch = import_optional("torch", purpose="deep attribution models")
        blob = torch.load(Path(path), weights_only=False)
        self = cls(**blob["params"])
        self.brands_ = blob["brands"]
        self.channels_, self.user_spec_ = blob["channels"], blob["user_spec"]
        self.n_user_features_, self.history_ = blob["n_user"], blob["history"]
        n_context = self.n_user_features_ + 1 + len(self.brands_)
        self.net_ = sequence_net(n_channels=len(self.channels_), n_context=n_context,
                                 arch=self.arch, embed=self.embed, hidden=self.hidden, random_state=None)
        self.net_.load_state_dict(blob["state"])
        self.net_.eval()
        self._fitted_on = None
        return self


def _journeys(journeys: Any) -> Journeys:
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys (from journeys() or from_paths()) or JourneySequences; "
                             f"found {type(journeys).__name__}")
    return journeys


def _fixed_share_bootstrap(share: np.ndarray, conversions: np.ndarray, value: np.ndarray,
                           channels: list[str]) -> Bootstrap:
    """Converting journeys resampled, each journey's split (``share``, journeys x channels) held fixed.

    Journeys without credit cannot change the credits: only the others are resampled.
    """
    rows = np.flatnonzero((conversions > 0) & (share.sum(axis=1) > 0))
    st = share[rows].T
    return Bootstrap(list(channels), conversions[rows], np.zeros(len(rows)), value[rows],
                     lambda c, n, v: (st @ c, st @ v), held_fixed="the fitted network")
