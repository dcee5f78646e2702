"""The peer of ``bench_browser.py``: a bare Streamlit page with one step slider and one chart.

One ``st.select_slider`` over 60 steps and one Plotly chart: a 609-point histogram (as many
points as the Ames prices on the house-prices page) and one curve that moves with the step.
Nothing is cached or optimised: this is what "a plain Streamlit app" costs per step.

Run alone: ``streamlit run bench/peer_page.py``.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

rng = np.random.default_rng(0)
x = np.concatenate([rng.normal(5.1, 0.08, 400), rng.normal(5.45, 0.1, 209)])
s = st.select_slider("Step", options=list(range(60)), key="peer_step")
grid = np.linspace(x.min() - 0.2, x.max() + 0.2, 200)
mu = 5.1 + 0.35 * s / 59
curve = np.exp(-0.5 * ((grid - mu) / 0.12) ** 2) / (0.12 * np.sqrt(2 * np.pi))
fig = go.Figure([go.Histogram(x=x, histnorm="probability density", nbinsx=40, name="points"),
                 go.Scatter(x=grid, y=curve, mode="lines", name=f"curve, step {s}")])
st.plotly_chart(fig, key="peer_chart")
