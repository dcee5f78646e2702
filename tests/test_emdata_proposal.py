"""Which columns the "Your data" page proposes to fit, and standardisation (emdata)."""

import numpy as np
import pytest
import scipy.stats

import emcore
import emdata


def _table(text: str):
    return emdata.parse_csv(text.encode(), "t.csv")


def _csv(columns: dict) -> str:
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    return ",".join(names) + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"


RNG = np.random.default_rng(0)
N = 40
MEASURE = {"length_mm": np.round(RNG.normal(40, 5, N), 1), "mass_g": np.round(RNG.normal(4000, 800, N))}


@pytest.mark.parametrize("name, values, reason", [
    ("year", RNG.choice([2007, 2008, 2009], N), "calendar years 2007–2009"),
    ("Year of survey", RNG.choice([1999, 2004], N), "calendar years 1999–2004"),
    ("wave", RNG.choice(np.arange(1990, 2001), N), "calendar years 1990–2000"),  # few distinct
    ("id", RNG.normal(0, 1, N).round(3), "its name marks row numbers or ids"),
    ("customer_id", RNG.permutation(np.arange(1000, 5000, 7))[:N], "an id: whole numbers, each different"),
    ("PassengerId", RNG.permutation(np.arange(100, 900, 3))[:N], "an id: whole numbers, each different"),
    ("n", np.arange(5, 5 + N), "row numbers 5, 6, …, 44"),
])
def test_row_numbers_ids_and_years_are_left_out_with_their_reason(name, values, reason):
    table = _table(_csv({name: values, **MEASURE}))
    assert emdata.left_out_reason(table, name) == reason
    p = emdata.propose_model(table)
    assert p.model == "gmm" and p.columns == ["length_mm", "mass_g"]
    assert p.left_out == {name: reason}


@pytest.mark.parametrize("name, values", [
    ("mass_g", RNG.integers(2700, 6300, N)),              # whole numbers, but far above 2100
    ("minutes", RNG.integers(40, 100, N)),                 # whole numbers with repeats
    ("acid", RNG.permutation(np.arange(1000, 5000, 7))[:N]),  # ends in "id", not an id name
    ("temperature", RNG.normal(1950, 30, N).round(1)),     # not whole numbers
    ("elevation", RNG.integers(1800, 2100, N * 10)[:N] + 0.5),
    ("price", np.arange(1800, 1800 + 2 * N, 2)),           # distinct, but steps of 2, no id name
    ("rank", RNG.permutation(np.arange(1, N + 1))),        # 1..N, but not in file order
])
def test_measurements_are_kept(name, values):
    table = _table(_csv({name: values, **MEASURE}))
    assert emdata.left_out_reason(table, name) is None
    assert name in emdata.propose_model(table).columns


def test_full_penguins_example_proposes_the_four_measurements_standardised():
    table = emdata.parse_csv(emdata.example_csv("penguins"), "penguins.csv")
    assert table.columns == ["species", "island", "bill_length_mm", "bill_depth_mm",
                             "flipper_length_mm", "body_mass_g", "sex", "year"]
    p = emdata.propose_model(table)
    assert p.model == "gmm"
    assert p.columns == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    assert p.left_out == {"year": "calendar years 2007–2009"}
    # grams vs millimetres: sd 802 g over sd 1.97 mm
    mass = table.numeric["body_mass_g"]
    depth = table.numeric["bill_depth_mm"]
    expected = np.nanstd(mass) / np.nanstd(depth)
    assert p.scale_ratio == pytest.approx(expected, rel=1e-12) and p.standardise
    assert 400 < p.scale_ratio < 410


def test_standardise_is_proposed_only_above_a_factor_of_ten():
    x = RNG.normal(0, 1, N)
    near = _table(_csv({"a": x.round(4), "b": (x * 9 + RNG.normal(0, 0.1, N)).round(4)}))
    far = _table(_csv({"a": x.round(4), "b": (RNG.normal(0, 30, N)).round(4)}))
    assert emdata.scale_ratio(near, ["a", "b"]) < 10 and not emdata.propose_model(near).standardise
    assert emdata.scale_ratio(far, ["a", "b"]) > 10 and emdata.propose_model(far).standardise
    # other models never propose it
    survey = emdata.parse_csv(emdata.example_csv("survey"))
    assert not emdata.propose_model(survey).standardise


def test_only_id_like_columns_are_still_offered():
    table = _table(_csv({"id": np.arange(1, N + 1), "year": RNG.choice([2001, 2002], N)}))
    p = emdata.propose_model(table)
    assert p.columns == ["id", "year"] and p.left_out == {}


def test_zscores_match_scipy_and_survive_huge_values():
    X = np.column_stack([RNG.normal(4000, 800, 50), RNG.normal(17, 2, 50), RNG.normal(0, 1, 50) * 1e300])
    Z, mean, sd = emdata.zscores(X)
    np.testing.assert_allclose(Z, scipy.stats.zscore(X / [1, 1, 1e300], axis=0), atol=1e-12)
    np.testing.assert_allclose(mean[:2], X[:, :2].mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(sd[:2], X[:, :2].std(axis=0), rtol=1e-12)
    assert np.isfinite(sd).all() and sd[2] == pytest.approx(np.std(X[:, 2] / 1e300) * 1e300, rel=1e-12)
    H = np.array([[1e308, 1.0], [-1e308, 2.0], [5e307, 3.0]])
    Z, mean, sd = emdata.zscores(H)
    assert np.isfinite(Z).all() and np.isfinite(sd).all()


def test_gaussian_matrix_standardised_is_z_of_the_usable_rows():
    table = emdata.parse_csv(emdata.example_csv("penguins"), "penguins.csv")
    cols = ["bill_depth_mm", "body_mass_g"]
    raw = emdata.prepare(table, "gmm", cols)
    z = emdata.prepare(table, "gmm", cols, standardise=True)
    assert not raw.standardised and z.standardised
    assert z.feature_names == ["bill_depth_mm (z)", "body_mass_g (z)"]
    assert raw.X.shape == z.X.shape == (342, 2)  # the two birds without measurements left out
    np.testing.assert_allclose(z.X, scipy.stats.zscore(raw.X, axis=0), atol=1e-12)
    np.testing.assert_allclose(z.X * z.scale + z.center, raw.X, rtol=1e-12)
    assert raw.notes == z.notes  # the same rows left out, stated once
    one = emdata.prepare(table, "gmm1d", ["body_mass_g"], standardise=True)
    assert one.feature_names == ["body_mass_g (z)"] and abs(one.X.mean()) < 1e-12


def test_em_on_z_scores_is_em_in_other_units_for_full_covariances():
    """What the page says: with full (or diagonal) covariances and reg = 0, EM from
    corresponding starts gives the same responsibilities at every step on z-scores as on the
    raw columns; only the start and reg see the units."""
    table = emdata.parse_csv(emdata.example_csv("penguins"), "penguins.csv")
    cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    raw = emdata.prepare(table, "gmm", cols).X
    z = emdata.prepare(table, "gmm", cols, standardise=True)
    theta0 = emcore.fit_gaussian_mixture(z.X, 3, seed=0, max_iter=1).params[0]
    s, c = z.scale, z.center
    theta0_raw = emcore.GaussianParams(theta0.weights, theta0.means * s + c,
                                       theta0.covariances * np.outer(s, s))
    for cov in ("full", "diag"):
        tz = emcore.fit_gaussian_mixture(z.X, 3, covariance_type=cov, init=theta0, max_iter=6, tol=0)
        tr = emcore.fit_gaussian_mixture(raw, 3, covariance_type=cov, init=theta0_raw, max_iter=6, tol=0)
        for t in range(tz.n_iter + 1):
            np.testing.assert_allclose(tz.responsibilities(t), tr.responsibilities(t), atol=1e-8)
        np.testing.assert_allclose(tz.params[-1].means * s + c, tr.params[-1].means, rtol=1e-7)
