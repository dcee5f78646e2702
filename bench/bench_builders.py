"""Figure-builder benchmark: what the step player pays once per fit (not part of `make test`).

The step player (emui.step_player) builds every half-step's figures of a page once per fit and
packs them (emviz.player.pack, which reads each figure through ``figure_json``). This script
repeats that work outside Streamlit, with each page's default data and fit settings and the
same builder calls as the page's ``step_view``:

* house prices (Ames): ``mixture_figure`` + ``loglik_figure``
* 2-D blobs (Old Faithful, standardised): ``blobs_figure`` (player grid) + ``loglik_figure``
* baskets (Complete Journey): ``profile_heatmap``, ``segment_sizes``,
  ``responsibility_heatmap``, ``loglik_figure``
* digits (2, 3, 4): ``prototypes_figure``, ``responsibility_figure``, ``loglik_figure``

For each page it prints the best of ``--repeat`` runs of (a) building every half-step's figures
and (b) building them and turning each into the player's JSON (``figure_json``), and the size
of the packed, compressed payload the browser gets (``pack`` + ``encode``). The half-steps
themselves (one E-step each) are computed once beforehand, as the player does.

Run: ``.venv/bin/python bench/bench_builders.py [--repeat 3] [--pages house,blobs]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import emcore  # noqa: E402
import emdata  # noqa: E402
from emviz import baskets as B  # noqa: E402
from emviz import digits as V  # noqa: E402
from emviz import gauss2d as g2  # noqa: E402
from emviz.common import loglik_figure  # noqa: E402
from emviz.gauss1d import mixture_figure, price_axis  # noqa: E402
from emviz.player import encode, figure_json, pack  # noqa: E402


def house():
    ds = emdata.load_dataset("ames")
    x = np.asarray(ds.X, dtype=float)[:, 0]
    tr = emcore.fit_gaussian_mixture(x, 2, init="kmeans++", seed=0, reg=0.0, max_iter=100,
                                     tol=1e-6)
    axis = price_axis(x, "$")
    final_r = np.asarray(tr.responsibilities(tr.n_iter))  # the page's default house
    highlight = int(np.argmin(np.abs(final_r.max(axis=1) - 1 / final_r.shape[1] - 0.1)))
    return tr, [
        lambda h: mixture_figure(x, tr, h, axis=axis, highlight=highlight,
                                 true_params=ds.true_params),
        lambda h: loglik_figure(tr, h),
    ]


def blobs():
    ds = emdata.load_dataset("faithful")
    X = np.asarray(ds.X, dtype=float)
    sc = g2.Scaling.standardise(X)
    tr = emcore.fit_gaussian_mixture(sc.to_fit(X), 2, init="kmeans++", seed=0, reg=0.0,
                                     max_iter=100, tol=1e-6, covariance_type="full")
    kw = dict(feature_names=list(ds.feature_names), scaling=sc, show_ellipses=True,
              show_trajectories=True, show_contours=True, true_params=None)
    return tr, [
        lambda h: g2.blobs_figure(X, tr, h, title=f"Soft EM (full covariances) — {h.label}",
                                  grid_n=g2.GRID_PLAYER, compact_density=True, **kw),
        lambda h: loglik_figure(tr, h),
    ]


def baskets():
    ds = emdata.load_dataset("completejourney")
    X = ds.X
    tr = emcore.fit_multinomial_mixture(X, 4, init="random", seed=0, alpha=1.01, max_iter=200,
                                        tol=1e-6)
    labels = [B.pretty_label(n, 24) for n in ds.feature_names]
    share = B.overall_share(X)
    final = tr.params[-1]
    names = B.segment_names(final.probs, share, labels)
    shown = B.heatmap_categories(final.probs, share, B.MAX_HEATMAP_ROWS)
    full_order = B.category_order(final.probs, share, by="segment")
    order = full_order[np.isin(full_order, shown)]
    final_resp = np.asarray(tr.responsibilities(tr.n_iter))
    rows = B.display_rows(final_resp, n_show=200, seed=0)
    block = final_resp[rows].argmax(axis=1)
    return tr, [
        lambda h: B.profile_heatmap(tr, h, labels, share, order=order, names=names,
                                    value="prob"),
        lambda h: B.segment_sizes(tr, h, names),
        lambda h: B.responsibility_heatmap(
            None if h.resp is None else np.asarray(h.resp)[rows], names, n_total=X.shape[0],
            rows_label="households", block_of=block, title_suffix=f" · {h.label}",
            short_labels=True, decimals=3),
        lambda h: loglik_figure(tr, h),
    ]


def digits():
    from emdata.digits import digits_subset

    data = digits_subset([2, 3, 4], 8)
    X = data.X
    tr = emcore.fit_bernoulli_mixture(X, 3, init="kmeans++", seed=0, alpha=1.0, max_iter=100,
                                      tol=1e-6)
    final_resp = np.asarray(tr.responsibilities(tr.n_iter))
    _, names, _, _ = V.match_labels(data.labels, final_resp)
    comp = [f"{k + 1} {names[k]}" for k in range(tr.n_components)]
    rows = V.example_rows(data.labels, 2)
    captions = [f"a '{data.labels[i]}'" for i in rows]
    return tr, [
        lambda h: V.prototypes_figure(h.params, f"Each component's ink probabilities μ_k · "
                                                f"{h.label}", comp),
        lambda h: V.responsibility_figure(
            X[rows], None if h.resp is None else np.asarray(h.resp)[rows], captions,
            f"Responsibilities of a few digits · {h.label}", comp),
        lambda h: loglik_figure(tr, h),
    ]


PAGES = {"house": house, "blobs": blobs, "baskets": baskets, "digits": digits}


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(builders, steps, repeat: int) -> tuple[float, float, int]:
    """Best build time, best build + figure_json time (s) and the payload's size (bytes)."""
    t_build = best(lambda: [b(h) for b in builders for h in steps], repeat)
    t_json = best(lambda: [figure_json(b(h)) for b in builders for h in steps], repeat)
    figures = {str(i): (lambda s, b=b: b(steps[s])) for i, b in enumerate(builders)}
    payload = encode(pack(range(len(steps)), figures, {}))
    return t_build, t_json, len(payload)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pages", default=",".join(PAGES))
    args = ap.parse_args()
    print(f"{'page':8s} {'half-steps':>10s} {'build (ms)':>11s} {'build+json (ms)':>16s} "
          f"{'payload (kB)':>13s}")
    for name in args.pages.split(","):
        tr, builders = PAGES[name]()
        steps = [tr.half_step(s) for s in range(tr.n_half_steps)]
        t_build, t_json, size = measure(builders, steps, args.repeat)
        print(f"{name:8s} {len(steps):10d} {1e3 * t_build:11.1f} {1e3 * t_json:16.1f} "
              f"{size / 1e3:13.1f}")


if __name__ == "__main__":
    main()
