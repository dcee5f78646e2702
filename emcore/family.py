"""The boundary between the generic EM loop and a mixture family.

The loop in ``em.py`` knows nothing about bell curves or baskets. It asks a *family* for

* ``prepare(X)``: the data, validated and prepared once per fit;
* ``log_joint_chunk``: log π_k + log p(x_i | θ_k) for a chunk of rows, components first;
* ``stats_chunk`` / ``stats_width``: weighted sufficient statistics Σ_i r_ik T(x_i);
* ``m_step``: θ from those statistics (the exact maximiser of Q + log prior), and a summary
  of the statistics from which
* ``q_value`` gives Q(θ | q) = Σ_i Σ_k q_ik log[π_k p(x_i | θ_k)] for any θ of the family:
  Q is a function of the weighted sufficient statistics, so the loop records Q(θ_{t+1} | θ_t)
  without keeping q_t for every row;
* ``initial_state``: θ₀ from the statistics of the initial responsibilities;
* ``log_prior``: the log prior or penalty the fit maximises on top of ℓ;
* collapse and degeneracy checks (a ``Degenerate`` raised by ``m_step`` or by a state);

and the rest of emcore (densities of a given θ, BIC, sampling, the bound curve) asks the
same family for ``n_parameters``, ``sample_rows``, ``to_unconstrained`` /
``from_unconstrained`` and ``log_prior_of_params``. ``MixtureFamily`` below is that contract;
``FamilyBase`` supplies the parts most families share. A family is registered in
``registry.py`` and is then reachable through ``emcore.fit_mixture(X, K, family=name)``.

Initialisation follows scikit-learn's ``mixture/_base.py``: every scheme produces
responsibilities (random ones, or one-hot on K seed rows) and the family's ``initial_state``
turns their statistics into θ₀, so the loop never branches on the family.

Responsibilities are never held for all N rows during a fit. ``m_step`` and ``initial_state``
receive them as a ``Responsibilities``: a replay of q chunk by chunk (recomputed from θ_t, or
redrawn from the saved random state), for the rare second pass a family needs to keep a
statistic exact (a scatter that one-pass moments would lose to cancellation, a count of zeros
that N_k − S_k would lose to round-off). Memory is O(chunk·K + K·(statistics width)).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["MixtureFamily", "FamilyBase", "AlphaPriorFamily", "Responsibilities", "Degenerate",
           "WEIGHT_TOL", "LOG0", "kmeanspp_indices"]

#: a component whose total responsibility falls below this fraction of N has lost its points
WEIGHT_TOL = 1e-13
#: finite stand-in for log 0 inside matrix products (0 · LOG0 = 0, x · LOG0 → exp() = 0)
LOG0 = -1e30


class Degenerate(Exception):
    """Raised by an M-step or a state constructor when a component has degenerated.

    Parameters
    ----------
    component : int
        Zero-based index of the offending component.
    reason : str
        "collapse", "weight", "empty" or "overflow".
    detail : str
        Human-readable detail (numbers) to be woven into the trace message.
    where : str
        What a collapsed component sits on ("a single point", "a lower-dimensional set").
    """

    def __init__(self, component, reason, detail, where="a single point"):
        super().__init__(detail)
        self.component = component
        self.reason = reason
        self.detail = detail
        self.where = where


class Responsibilities:
    """Responsibilities q (K components × N rows), replayed chunk by chunk, never held whole.

    ``foreach(fn)`` calls ``fn(lo, hi, r)`` for consecutive row chunks covering 0 … N − 1, with
    ``r`` (K, hi − lo) = q for those rows (components first). ``r`` may be a work buffer that the
    next chunk overwrites: read it inside ``fn``, do not keep it. Every replay gives the same
    numbers (bit for bit) as the pass whose statistics the loop accumulated.

    Parameters
    ----------
    n_samples, n_components : int
    replay : callable
        ``replay(fn)`` runs ``fn`` over the chunks as above.
    """

    def __init__(self, n_samples, n_components, replay):
        self.n_samples = int(n_samples)
        self.n_components = int(n_components)
        self._replay = replay

    @classmethod
    def of_array(cls, resp, chunk=None):
        """Wrap a (K, N) array (components first)."""
        resp = np.asarray(resp, dtype=float)
        K, N = resp.shape
        step = int(chunk or N or 1)

        def replay(fn):
            for lo in range(0, N, step):
                hi = min(N, lo + step)
                fn(lo, hi, resp[:, lo:hi])

        return cls(N, K, replay)

    def foreach(self, fn):
        """Call ``fn(lo, hi, r)`` for every chunk (see the class docstring)."""
        self._replay(fn)

    def sum(self, fn):
        """Σ over the chunks of ``fn(lo, hi, r)`` (arrays of one shape, or floats)."""
        total = []

        def add(lo, hi, r):
            v = fn(lo, hi, r)
            if total:
                total[0] = total[0] + v
            else:
                total.append(np.array(v, dtype=float, copy=True))

        self._replay(add)
        return total[0]


@runtime_checkable
class MixtureFamily(Protocol):
    """What a mixture family provides (see the module docstring).

    Shapes: K components, N rows, D features; ``state`` is the family's internal θ (with
    whatever it caches, e.g. Cholesky factors), ``params`` the public frozen parameters
    (``params_type``), ``data`` what ``prepare`` returned (it has ``X``, ``n_samples`` and
    ``n_features``). ``resp`` is always (K, n), components first.
    """

    name: str
    params_type: type
    covariance_type: str | None
    default_init: str

    @property
    def has_prior(self) -> bool:
        """Whether ``log_prior`` is a non-trivial function of θ (the fit maximises ℓ + log p)."""

    def options(self) -> dict:
        """The family's settings (e.g. ``{"alpha": 1.0}``), as passed to its constructor."""

    def prepare(self, X): ...

    def state_from_params(self, params, data, check_collapse=False): ...

    def params_from_state(self, state, data): ...

    def buffer_width(self, n_components, data) -> int:
        """Rows of the per-chunk work array ``log_joint_chunk`` needs (0: none)."""

    def log_joint_chunk(self, data, lo, hi, state, out, buf, weighted=True):
        """Fill ``out`` (K, hi − lo) with log π_k + log p(x_i | θ_k) (without log π_k when
        ``weighted`` is False); impossible rows may use ``LOG0`` instead of −inf."""

    def stats_width(self, data) -> int: ...

    def stats_chunk(self, data, lo, hi, resp, acc):
        """Add Σ_i r_ik T(x_i) for rows lo:hi into ``acc`` (K, stats_width); column 0 is N_k."""

    def m_step(self, acc, data, resp):
        """(state, summary): θ maximising Q + log prior given the statistics ``acc``, and the
        summary of the statistics that ``q_value`` reads; raises ``Degenerate``. ``resp`` (a
        ``Responsibilities``, or None) replays the q behind ``acc`` for a family that needs a
        second pass to keep a statistic exact."""

    def q_value(self, summary, state, data) -> float:
        """Q(θ | q) = Σ_i Σ_k q_ik [log π_k + log p(x_i | θ_k)] (full density, no prior) from
        the ``summary`` of q's statistics (``m_step``'s second value) at θ = ``state`` (any θ
        of this family and its options), with 0 · log 0 = 0."""

    def initial_state(self, acc, data, resp, seeded):
        """θ₀ from the statistics of the initial responsibilities (``resp`` replays them, a
        ``Responsibilities``). ``seeded``: one-hot on K single rows (nothing to estimate a
        spread from)."""

    def seed_indices(self, data, n_components, rng):
        """K row indices chosen by k-means++ seeding in the family's own geometry."""

    def log_prior(self, state) -> float: ...

    def log_prior_of_params(self, params) -> float: ...

    def n_parameters(self, n_components, n_features) -> int: ...

    def sample_rows(self, params, z, rng, **options):
        """Rows drawn from component z[i] for every i (``options`` e.g. ``n_trials``)."""

    def to_unconstrained(self, params) -> tuple:
        """Coordinates in which a straight line between two θ stays a valid θ (±inf allowed)."""

    def from_unconstrained(self, coords): ...

    def impossible(self, data, params):
        """(N, K) boolean mask of exactly zero densities, or None when there are none."""

    def degenerate_message(self, error, step_label) -> str: ...


def kmeanspp_indices(Z, K, rng):
    """k-means++ seeding on the rows of Z (N, D): first index uniform, then ∝ squared distance.

    Distances are computed in row blocks (no (N, D) temporary); Z may be sparse (rows are
    densified one block at a time).
    """
    N = Z.shape[0]
    step = max(1, 2**16 // max(Z.shape[1], 1))

    def dist2(i):
        c = Z[i].toarray().ravel() if hasattr(Z, "toarray") else Z[i]
        out = np.empty(N)
        for lo in range(0, N, step):
            b = Z[lo : lo + step]
            b = b.toarray() if hasattr(b, "toarray") else b
            out[lo : lo + step] = np.sum((b - c) ** 2, axis=1)
        return out

    idx = [int(rng.integers(N))]
    d2 = dist2(idx[0])
    for _ in range(1, K):
        tot = d2.sum()
        if not tot > 0:
            i = int(rng.integers(N))
        else:
            i = int(rng.choice(N, p=d2 / tot))
        idx.append(i)
        d2 = np.minimum(d2, dist2(i))
    return np.array(idx)


def softmax(v, axis=-1):
    """exp(v) / Σ exp(v) with −inf (or any non-finite entry) giving exactly 0."""
    v = np.where(np.isfinite(v), v, -np.inf)
    m = np.max(v, axis=axis, keepdims=True)
    e = np.exp(v - m)
    return e / e.sum(axis=axis, keepdims=True)


def check_weights(Nk, n_samples):
    """Raise ``Degenerate`` for the first component whose total responsibility vanished."""
    for k in range(Nk.shape[0]):
        if not Nk[k] > WEIGHT_TOL * n_samples:
            raise Degenerate(k, "weight", f"total responsibility {Nk[k]:.3g}")


class FamilyBase:
    """Shared defaults for families (subclass and fill in the rest of ``MixtureFamily``)."""

    name = "base"
    params_type = object
    covariance_type = None
    default_init = "random"

    @property
    def has_prior(self):
        return False

    def options(self):
        return {}

    def is_params(self, obj):
        return isinstance(obj, self.params_type)

    def buffer_width(self, n_components, data):
        return 0

    def seed_indices(self, data, n_components, rng):
        X = data.X
        Z = X if hasattr(X, "toarray") else np.asarray(X, dtype=float)
        return kmeanspp_indices(Z, n_components, rng)

    def log_prior_of_params(self, params):
        return 0.0

    def impossible(self, data, params):
        return None

    def degenerate_message(self, error, step_label):
        k = error.component + 1
        if error.reason == "weight":
            return (
                f"Component {k} lost all its points ({error.detail} at {step_label}): "
                "start from other values or use fewer components."
            )
        if error.reason == "empty":
            return (
                f"Component {k} has nothing to describe at {step_label}: {error.detail}. "
                "Use fewer components."
            )
        return f"Component {k} degenerated at {step_label}: {error.detail}."


class AlphaPriorFamily(FamilyBase):
    """A family whose prior is one symmetric concentration ``alpha`` ≥ 1 on every probability
    (Dirichlet(α) for multinomials, Beta(α, α) for Bernoullis); α = 1 is maximum likelihood."""

    def __init__(self, alpha=1.0):
        alpha = float(alpha)
        if not (np.isfinite(alpha) and alpha >= 1.0):
            raise ValueError("alpha must be a finite number >= 1 (alpha = 1 is plain maximum likelihood)")
        self.alpha = alpha

    @property
    def has_prior(self):
        return self.alpha != 1.0

    def options(self):
        return {"alpha": self.alpha}
