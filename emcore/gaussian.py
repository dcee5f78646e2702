"""The Gaussian family: Cholesky-based log-densities and the exact regularised M-step.

Internally the data are centred once (``Xc = X - shift``); every mean inside this module is
in centred coordinates and is shifted back when a ``GaussianParams`` is built. Centring is an
exact reparametrisation of the model (EM is translation-equivariant, and the ridge prior does
not involve the means) and keeps one-pass second moments accurate.

Regularisation is the fixed log-prior ``-(reg/2) * tr(Σ⁻¹)`` per distinct covariance matrix
(once per component, or once for the shared matrix of ``tied``). Its M-step is

* full:      Σ_k = (S_k + reg·I) / N_k
* diag:      σ²_kj = (S_kjj + reg) / N_k
* spherical: σ²_k = (tr S_k / D + reg) / N_k
* tied:      Σ = (Σ_k S_k + reg·I) / N

where S_k = Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ about the new mean and N_k = Σ_i r_ik. Each is
the exact maximiser of Q(θ | θ_t) + log prior(θ) within the covariance type, so the
penalised objective ℓ + log prior never decreases.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from .family import WEIGHT_TOL, Degenerate, FamilyBase, check_weights, kmeanspp_indices, softmax
from .options import FitOption, FitSpec
from .params import COVARIANCE_TYPES, GaussianParams

__all__ = ["GaussianFamily", "GaussianParams", "Degenerate", "WEIGHT_TOL"]

LOG_2PI = float(np.log(2.0 * np.pi))
#: a component whose variance (in any direction, relative to the data's variance in that
#: column) falls below this is declared collapsed
REL_VAR_TOL = 1e-10
#: one-pass second moments lose log10(M2/S) digits; beyond this ratio recompute two-pass
CANCEL_TOL = 1e6
#: the values of reg a learner can pick (0 = plain maximum likelihood)
REG_CHOICES = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


class GaussianData:
    """Data prepared once per fit: centred copy plus the columns used by the M-step.

    Attributes
    ----------
    X : ndarray (N, D)
        The data as given (float64).
    shift : ndarray (D,)
        Column means subtracted from ``X``.
    GT : ndarray (1 + D + M, N)
        ``[1, Xc, F]ᵀ``, rows first (C-contiguous), where F holds the second-moment features
        the covariance type needs (upper-triangular products for full, squares for
        diag/spherical, none for tied).
    col_var : ndarray (D,)
        Variance of each column (the scale for the collapse test).
    total_scatter : ndarray (D, D)
        ``Xc.T @ Xc`` (used by tied).
    """

    def __init__(self, X, covariance_type):
        X = as_gaussian_data(X)
        self.X = X
        N, D = X.shape
        self.n_samples, self.n_features = N, D
        self.shift = X.mean(axis=0)
        if covariance_type == "full":
            self.iu = np.triu_indices(D)
            M = len(self.iu[0])
        elif covariance_type in ("diag", "spherical"):
            self.iu = (np.arange(D), np.arange(D))
            M = D
        else:
            self.iu = None
            M = 0
        GT = np.empty((1 + D + M, N))
        GT[0] = 1.0
        for d in range(D):
            np.subtract(X[:, d], self.shift[d], out=GT[1 + d])
        if M:
            for j, (a, b) in enumerate(zip(*self.iu, strict=True)):
                np.multiply(GT[1 + a], GT[1 + b], out=GT[1 + D + j])
        self.GT = GT
        Xc = self.Xc
        self.col_var = np.einsum("ij,ij->j", Xc, Xc) / N
        self.total_scatter = Xc.T @ Xc if covariance_type == "tied" else None

    @property
    def Xc(self):
        """Centred data, a view (N, D)."""
        return self.GT[1 : 1 + self.n_features].T


def as_gaussian_data(X):
    """Validate and convert to a float64 (N, D) array (1-D input means D = 1)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be 1-D or 2-D, got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError("X must have at least one row and one column")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    return X


def inv_lower(L):
    """Inverses of a batch of lower-triangular matrices by forward substitution.

    Parameters
    ----------
    L : ndarray (K, D, D), lower triangular with positive diagonal

    Returns
    -------
    ndarray (K, D, D), lower triangular, ``L @ out = I``
    """
    K, D, _ = L.shape
    out = np.zeros_like(L)
    for i in range(D):
        row = -np.einsum("kj,kjc->kc", L[:, i, :i], out[:, :i, :]) if i else np.zeros((K, D))
        row[:, i] += 1.0
        out[:, i, :] = row / L[:, i, i, None]
    return out


class GaussianState:
    """θ in centred coordinates with its Cholesky factors cached.

    Attributes
    ----------
    weights : (K,)   means : (K, D) centred   covariances : (K, D, D)
    chol : (K, D, D) lower Cholesky factors L_k (Σ_k = L_k L_kᵀ)
    prec_chol : (K, D, D) P_k = L_k⁻ᵀ (Σ_k⁻¹ = P_k P_kᵀ), so ‖(x − μ_k) P_k‖² is the
        squared Mahalanobis distance
    logdet : (K,) log |Σ_k|
    """

    def __init__(self, weights, means, covariances, col_var=None, check_collapse=True):
        K, D = means.shape
        self.weights = weights
        self.means = means
        self.covariances = covariances
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(weights)
        for k in range(K):
            if not weights[k] > 0:
                raise Degenerate(k, "weight", f"weight {weights[k]:.3g}")
        if not np.all(np.isfinite(covariances)):
            k = int(np.flatnonzero(~np.isfinite(covariances).all(axis=(1, 2)))[0])
            raise Degenerate(k, "collapse", "its covariance overflowed")
        try:
            chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            for k in range(K):
                try:
                    np.linalg.cholesky(covariances[k])
                except np.linalg.LinAlgError:
                    d = max(float(np.linalg.eigvalsh(covariances[k]).min()), 0.0)
                    what = "its variance" if D == 1 else "its smallest variance"
                    raise Degenerate(k, "collapse", f"{what} fell to {d:.3g}") from None
            raise
        diag = np.diagonal(chol, axis1=1, axis2=2)
        if not np.all(np.isfinite(chol)) or np.any(diag <= 0):
            k = int(np.argmin(np.where(np.isfinite(diag), diag, -np.inf).min(axis=1)))
            raise Degenerate(k, "collapse", f"its smallest variance fell to {diag[k].min() ** 2:.3g}")
        if check_collapse and col_var is not None:
            var = diag**2  # conditional variances, (K, D)
            scale = np.where(col_var > 0, col_var, 1.0)
            rel = var / scale
            bad = (rel < REL_VAR_TOL) | (var < 1e-290)
            if np.any(bad):
                k, j = np.unravel_index(int(np.argmin(np.where(bad, rel, np.inf))), bad.shape)
                n_bad = int(bad[k].sum())
                where = "a single point" if n_bad == D else "a lower-dimensional set"
                along = f" along column {j + 1}" if D > 1 else ""
                raise Degenerate(
                    int(k),
                    "collapse",
                    f"its variance{along} fell to {var[k, j]:.3g}, {rel[k, j]:.1g} of the data's",
                    where,
                )
        self.chol = chol
        self.prec_chol = inv_lower(chol).transpose(0, 2, 1)
        self.logdet = 2.0 * np.log(diag).sum(axis=1)
        # E-step operator: Y = [1, Xc] @ W_ext gives (x − μ_k) P_k / √2 for all k side by side
        s = np.sqrt(0.5)
        W = self.prec_chol.transpose(1, 0, 2).reshape(D, K * D) * s
        b = np.einsum("kd,kde->ke", means, self.prec_chol).reshape(K * D) * s
        self.W_ext = np.vstack([-b[None, :], W])
        self.W_ext_T = np.ascontiguousarray(self.W_ext.T)
        self.const = self.log_weights - 0.5 * (D * LOG_2PI + self.logdet)
        self.const_density = -0.5 * (D * LOG_2PI + self.logdet)


class GaussianFamily(FamilyBase):
    """Gaussian mixture family for one covariance type and ridge ``reg``."""

    name = "gaussian"
    params_type = GaussianParams
    default_init = "kmeans++"
    #: what a learner may set (``emcore.options``; the user interface is built from it)
    fit_spec = FitSpec(
        inits={"kmeans++": "k-means++ (spread-out data points)",
               "random_from_data": "random data points as means",
               "random": "random responsibilities",
               "custom": "my own starting means"},
        options=(
            FitOption("covariance_type", "select", COVARIANCE_TYPES, "full", "Covariance type",
                      choice_labels={"full": "full (any ellipse)",
                                     "diag": "diagonal (axis-aligned)",
                                     "spherical": "spherical (circles)",
                                     "tied": "tied (one shared ellipse)"},
                      url="cov", min_features=2),
            FitOption("reg", "slider", REG_CHOICES, 0.0, "Regularisation reg",
                      choice_labels={v: "0 (off)" if v == 0 else f"{v:g}" for v in REG_CHOICES},
                      help="Adds reg to each covariance's scatter before dividing by N_k. This "
                           "is the M-step of a penalty −(reg/2)·tr Σ⁻¹ on each covariance matrix "
                           "(an improper prior, defined up to a constant): EM then maximises "
                           "ℓ + log p, and ℓ alone can fall. 0 is plain maximum likelihood, "
                           "where a component can collapse onto a single point."),
        ),
        hard_em="Replace each responsibility by a 0/1 assignment to the most likely component. "
                "Hard EM never lowers the classification log-likelihood ℓ_C (ℓ_C + log p when "
                "reg > 0), but ℓ itself can fall. It is k-means only with one shared, fixed "
                "spherical covariance and equal weights.")

    def __init__(self, covariance_type="full", reg=0.0):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
        reg = float(reg)
        if not (reg >= 0 and np.isfinite(reg)):
            raise ValueError("reg must be a finite number >= 0")
        self.covariance_type = covariance_type
        self.reg = reg

    @property
    def has_prior(self):
        return self.reg > 0

    def options(self):
        return {"covariance_type": self.covariance_type, "reg": self.reg}

    # -- data and parameters ---------------------------------------------------------------
    def prepare(self, X):
        return GaussianData(X, self.covariance_type)

    def state_from_params(self, params, data, check_collapse=False):
        if not isinstance(params, GaussianParams):
            raise TypeError("explicit init for a Gaussian mixture must be a GaussianParams")
        if params.n_features != data.n_features:
            raise ValueError(
                f"init has D = {params.n_features} but X has {data.n_features} column(s)"
            )
        return GaussianState(
            params.weights.copy(),
            params.means - data.shift,
            params.covariances.copy(),
            data.col_var,
            check_collapse=check_collapse,
        )

    def params_from_state(self, state, data):
        return GaussianParams(state.weights, state.means + data.shift, state.covariances)

    # -- E-step pieces -----------------------------------------------------------------------
    def log_joint_chunk(self, data, lo, hi, state, out, buf, weighted=True):
        """Fill ``out`` (K, n) with log π_k + log N(x_i | μ_k, Σ_k) for rows lo:hi.

        Components are along the first axis so that reductions over k are fast elementwise
        operations across n. ``buf`` is a (K·D, n) work array: Y = W_extᵀ [1, x]ᵀ holds
        (x_i − μ_k)ᵀ P_k / √2 for all k, so ‖Y_k‖² is half the squared Mahalanobis distance.
        """
        K, D = state.means.shape
        g = data.GT[: 1 + D, lo:hi]
        W = state.W_ext_T  # (K·D, 1 + D)
        if D <= 3:
            # a product with inner dimension ≤ 4 is faster as broadcast multiply-adds
            np.multiply(W[:, 1:2], g[1], out=buf)
            np.add(buf, W[:, :1], out=buf)
            if D > 1:
                tmp = np.empty_like(buf)
                for d in range(2, 1 + D):
                    np.multiply(W[:, d : d + 1], g[d], out=tmp)
                    np.add(buf, tmp, out=buf)
        else:
            np.matmul(W, g, out=buf)
        Y = buf
        np.square(Y, out=Y)
        if D == 1:
            out[...] = Y
        elif D == 2:
            Y3 = Y.reshape(K, 2, -1)
            np.add(Y3[:, 0], Y3[:, 1], out=out)
        else:
            np.sum(Y.reshape(K, D, -1), axis=1, out=out)
        c = state.const if weighted else state.const_density
        np.subtract(c[:, None], out, out=out)
        return out

    def buffer_width(self, n_components, data):
        return n_components * data.n_features

    # -- M-step ------------------------------------------------------------------------------
    def stats_chunk(self, data, lo, hi, resp, acc):
        """Accumulate ``resp @ [1, Xc, F]`` (K, 1 + D + M) into ``acc``; resp is (K, n)."""
        acc += resp @ data.GT[:, lo:hi].T

    def stats_width(self, data):
        return data.GT.shape[0]

    def m_step(self, acc, data, resp):
        """Closed-form penalised M-step from accumulated statistics.

        Parameters
        ----------
        acc : ndarray (K, 1 + D + M)
            Σ_i r_ik [1, x_i, f(x_i)].
        resp : Responsibilities
            Replays the responsibilities behind ``acc``, for the two-pass scatter used when
            one-pass moments would lose too many digits.

        Returns
        -------
        state : GaussianState
        summary : (Nk (K,), means (K, D) centred, S)
            N_k, the weighted means m_k and the scatter about them, S_k = Σ_i r_ik (x_i − m_k)
            (x_i − m_k)ᵀ (K, D, D) (unregularised; diagonal only for diag/spherical), or for
            tied the pooled Σ_k S_k (D, D): what ``q_value`` needs.
        """
        N, D = data.n_samples, data.n_features
        K = acc.shape[0]
        Nk = acc[:, 0].copy()
        check_weights(Nk, N)
        exact_scatter = _exact_scatter_fn(data, resp)
        means = acc[:, 1 : 1 + D] / Nk[:, None]
        ct = self.covariance_type
        if ct == "full":
            M2 = np.empty((K, D, D))
            iu0, iu1 = data.iu
            M2[:, iu0, iu1] = acc[:, 1 + D :]
            M2[:, iu1, iu0] = acc[:, 1 + D :]
            S = M2 - Nk[:, None, None] * means[:, :, None] * means[:, None, :]
            m2d = np.diagonal(M2, axis1=1, axis2=2)
            sd = np.diagonal(S, axis1=1, axis2=2)
            redo = np.flatnonzero(np.any(sd * CANCEL_TOL <= m2d, axis=1)).tolist()
            if redo:
                S[redo] = exact_scatter(redo, means)
        elif ct in ("diag", "spherical"):
            m2d = acc[:, 1 + D :]
            sd = m2d - Nk[:, None] * means**2
            redo = np.flatnonzero(np.any(sd * CANCEL_TOL <= m2d, axis=1)).tolist()
            if redo:
                sd = sd.copy()
                sd[redo] = np.diagonal(exact_scatter(redo, means), axis1=1, axis2=2)
            S = np.zeros((K, D, D))
            S[:, np.arange(D), np.arange(D)] = sd
        else:  # tied
            S_total = data.total_scatter - np.einsum("k,kd,ke->de", Nk, means, means)
            m2d = np.diag(data.total_scatter)
            if np.any(np.diag(S_total) * CANCEL_TOL <= m2d):
                S_k = exact_scatter(list(range(K)), means)
                S_total = S_k.sum(axis=0)
            S = None
        eye = np.eye(D)
        reg = self.reg
        if ct == "full":
            cov = (S + reg * eye) / Nk[:, None, None]
        elif ct == "diag":
            var = (np.diagonal(S, axis1=1, axis2=2) + reg) / Nk[:, None]
            cov = var[:, :, None] * eye
        elif ct == "spherical":
            var = (np.trace(S, axis1=1, axis2=2) / D + reg) / Nk
            cov = var[:, None, None] * eye
        else:
            cov = np.broadcast_to((S_total + reg * eye) / Nk.sum(), (K, D, D)).copy()
            S = S_total  # the shared scatter Σ_k S_k is all Q needs
        cov = 0.5 * (cov + cov.transpose(0, 2, 1))
        weights = Nk / Nk.sum()
        state = GaussianState(weights, means, cov, data.col_var)
        return state, (Nk, means, S)

    def q_value(self, summary, state, data):
        """Q(θ | q) from q's statistics (N_k, m_k, S_k) and any θ of this covariance type:

        Q = Σ_k N_k [log π_k − ½ (D log 2π + log|Σ_k|)]
            − ½ Σ_k [tr(Σ_k⁻¹ S_k) + N_k (m_k − μ_k)ᵀ Σ_k⁻¹ (m_k − μ_k)],

        since Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ = S_k + N_k (m_k − μ_k)(m_k − μ_k)ᵀ. With
        Σ_k⁻¹ = P_k P_kᵀ, tr(Σ_k⁻¹ S_k) = tr(P_kᵀ S_k P_k). For tied, S is the pooled scatter.
        """
        Nk, m, S = summary
        D = m.shape[1]
        P = state.prec_chol  # (K, D, D)
        out = float(np.sum(xlogy(Nk, state.weights)))
        out -= 0.5 * float(np.sum(Nk * (D * LOG_2PI + state.logdet)))
        if self.covariance_type == "tied":
            out -= 0.5 * float(np.einsum("di,de,ei->", P[0], S, P[0]))
        else:
            out -= 0.5 * float(np.einsum("kdi,kde,kei->", P, S, P))
        u = np.einsum("kd,kde->ke", m - state.means, P)  # (m_k − μ_k)ᵀ P_k
        out -= 0.5 * float(np.sum(Nk * np.einsum("ke,ke->k", u, u)))
        return out

    def log_prior(self, state):
        """-(reg/2) Σ tr(Σ⁻¹), counting the shared matrix of ``tied`` once."""
        if self.reg == 0:
            return 0.0
        tr = np.sum(state.prec_chol**2, axis=(1, 2))  # tr(P Pᵀ) = tr(Σ⁻¹)
        if self.covariance_type == "tied":
            return -0.5 * self.reg * float(tr[0])
        return -0.5 * self.reg * float(tr.sum())

    def n_parameters(self, n_components, n_features):
        K, D = n_components, n_features
        cov = {
            "full": K * D * (D + 1) // 2,
            "diag": K * D,
            "spherical": K,
            "tied": D * (D + 1) // 2,
        }[self.covariance_type]
        return (K - 1) + K * D + cov

    # -- initial covariances -----------------------------------------------------------------
    def project_covariance(self, S, n):
        """Covariance of the given type from scatter S (D, D) of n points, with the ridge."""
        D = S.shape[0]
        cov = (S + self.reg * np.eye(D)) / n
        if self.covariance_type in ("diag",):
            cov = np.diag(np.diag(cov))
        elif self.covariance_type == "spherical":
            cov = np.eye(D) * np.trace(cov) / D
        return cov

    # -- initialisation ------------------------------------------------------------------------
    def seed_indices(self, data, n_components, rng):
        """k-means++ seeding on the (centred) data."""
        return kmeanspp_indices(data.Xc, n_components, rng)

    def initial_state(self, acc, data, resp, seeded):
        """θ₀ from the statistics of the initial responsibilities.

        Soft responsibilities: the penalised M-step. Seed rows (one point per component), or
        an M-step that would collapse: those means, equal weights and the data's covariance
        (made to the covariance type, ridge included) for every component.
        """
        means = acc[:, 1 : 1 + data.n_features] / acc[:, :1]
        if not seeded:
            try:
                state, _ = self.m_step(acc, data, resp)
                return state
            except Degenerate:
                pass
        return self._start_with_data_covariance(data, means)

    def _start_with_data_covariance(self, data, means):
        K, D = means.shape
        N = data.n_samples
        S = data.Xc.T @ data.Xc
        cov = self.project_covariance(S, N)
        weights = np.full(K, 1.0 / K)
        covs = np.broadcast_to(cov, (K, D, D)).copy()
        try:
            return GaussianState(weights, means, covs, data.col_var)
        except Degenerate:
            # The data are singular (a constant column, collinear columns, one distinct point)
            # and reg = 0: start from a proper density; the first M-step reports the collapse.
            cv = data.col_var
            scale = np.where(cv > 0, cv, cv.max() if cv.max() > 0 else 1.0)
            covs = covs + 1e-6 * np.diag(scale)
            return GaussianState(weights, means, covs, None, check_collapse=False)

    # -- functions of θ for the rest of emcore ---------------------------------------------------
    def log_prior_of_params(self, params):
        """−(reg/2) Σ_k tr(Σ_k⁻¹) of explicit parameters (tied: the shared matrix once)."""
        if self.reg == 0:
            return 0.0
        inv_tr = np.array([np.trace(np.linalg.inv(c)) for c in params.covariances])
        if self.covariance_type == "tied":
            return -0.5 * self.reg * float(inv_tr[0])
        return -0.5 * self.reg * float(inv_tr.sum())

    def sample_rows(self, params, z, rng, **options):
        X = np.empty((z.shape[0], params.n_features))
        for k in range(params.n_components):
            idx = np.flatnonzero(z == k)
            if idx.size:
                X[idx] = rng.multivariate_normal(params.means[k], params.covariances[k], size=idx.size,
                                                 method="cholesky")
        return X

    def to_unconstrained(self, params):
        """(log-weights, means, Cholesky factors with log-diagonal)."""
        with np.errstate(divide="ignore"):
            logw = np.log(params.weights)
        L = np.linalg.cholesky(params.covariances)
        D = L.shape[-1]
        logL = L.copy()
        idx = np.arange(D)
        logL[:, idx, idx] = np.log(L[:, idx, idx])
        return logw, params.means, logL

    def from_unconstrained(self, coords):
        logw, means, logL = coords
        L = np.tril(logL)
        D = L.shape[-1]
        idx = np.arange(D)
        L[:, idx, idx] = np.exp(logL[:, idx, idx])
        return GaussianParams(softmax(logw), means, L @ L.transpose(0, 2, 1))

    def degenerate_message(self, error, step_label):
        if error.reason in ("weight", "empty"):
            return super().degenerate_message(error, step_label)
        if self.reg == 0:
            fix = "turn on regularisation (reg > 0) or use fewer components."
        else:
            fix = "increase reg (it is tiny for data on this scale) or use fewer components."
        return (
            f"Component {error.component + 1} collapsed onto {error.where} at {step_label} "
            f"({error.detail}); the likelihood grows without bound there, so EM stops: {fix}"
        )


def _exact_scatter_fn(data, resp):
    """Two-pass scatter Σ_i r_ik (x_i − m_k)(x_i − m_k)ᵀ for components that need it.

    ``resp`` is a ``Responsibilities`` (replayed chunk by chunk).
    """

    def exact_scatter(components, means):
        Xc = data.Xc

        def chunk_scatter(lo, hi, r):
            out = np.empty((len(components), data.n_features, data.n_features))
            for j, k in enumerate(components):
                d = Xc[lo:hi] - means[k]
                out[j] = (r[k][:, None] * d).T @ d
            return out

        return resp.sum(chunk_scatter)

    return exact_scatter
