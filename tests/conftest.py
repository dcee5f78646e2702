"""Shared pytest settings: a modest hypothesis profile so the whole suite stays fast."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def plotly_validation():
    """Build figures with Plotly's property validation on (the app skips it for speed)."""
    import emviz.common

    old, emviz.common.VALIDATE = emviz.common.VALIDATE, True
    yield
    emviz.common.VALIDATE = old
