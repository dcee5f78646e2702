"""What a family lets the learner set, declared as plain data.

A family class carries a ``fit_spec`` (a :class:`FitSpec`): the initialisation schemes it
offers, the options of its constructor that a learner may change (each a :class:`FitOption`:
name, kind, choices, default, label, help) and whether it offers a hard-EM switch. The user
interface (``emui``) builds its widgets, the settings it passes to ``fit_mixture``, the
link's query parameters and the fit cache's key from this declaration alone, so a new family
gets its controls without any change outside its own file and the registry.

Nothing here knows about a user interface library: the labels and help texts are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FitOption", "FitSpec", "OPTION_KINDS", "GENERIC_INITS", "ALPHA_CHOICES",
           "alpha_option"]

#: ``"select"``: a drop-down over ``choices``; ``"slider"``: a slider over the ordered
#: ``choices`` (a select-slider: only those values can be chosen).
OPTION_KINDS = ("select", "slider")

#: The initialisation schemes every family supports (``run_em`` turns each into
#: responsibilities), with neutral names; a family may name them in its own words.
GENERIC_INITS = {
    "random": "random responsibilities",
    "random_from_data": "random rows as the start",
    "kmeans++": "k-means++ on the rows",
}

#: The values of a symmetric prior's concentration α a learner can pick (1 = plain maximum
#: likelihood), shared by the Dirichlet and Beta priors.
ALPHA_CHOICES = (1.0, 1.01, 1.1, 1.5, 2.0, 5.0)


@dataclass(frozen=True, eq=False)
class FitOption:
    """One keyword of a family's constructor, as a learner sets it.

    Parameters
    ----------
    name : str
        The constructor keyword (``"reg"``); the value reaches the family as ``name=value``.
    kind : {"select", "slider"}
        See :data:`OPTION_KINDS`.
    choices : tuple
        The allowed values, in the order shown (strings, or numbers for a slider).
    default : object
        The value of a first visit (one of ``choices``; the constructor's own default).
    label : str
        The control's label.
    help : str
        Its tooltip ("" for none).
    choice_labels : dict, optional
        Value → text shown for it; None shows ``str(value)``.
    url : str, optional
        Name of the query parameter holding it in a link (default ``name``).
    min_features : int
        The control is offered only when the data has at least this many features; with
        fewer, ``default`` is used (a covariance type means nothing in one dimension).
    """

    name: str
    kind: str
    choices: tuple
    default: object
    label: str
    help: str = ""
    choice_labels: dict | None = None
    url: str | None = None
    min_features: int = 1

    def __post_init__(self):
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"option {self.name!r}: kind must be one of {OPTION_KINDS}, "
                             f"got {self.kind!r}")
        if self.default not in self.choices:
            raise ValueError(f"option {self.name!r}: default {self.default!r} is not a choice")

    @property
    def query_name(self) -> str:
        return self.url or self.name

    def text(self, value) -> str:
        """The on-screen text of ``value``."""
        if self.choice_labels is not None and value in self.choice_labels:
            return self.choice_labels[value]
        return str(value)

    def nearest(self, value):
        """The choice a page default stands for: itself, or for numbers the nearest choice;
        ``default`` when it matches none."""
        if value in self.choices:
            return next(c for c in self.choices if c == value)
        numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool)
                      for c in self.choices)
        if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
            return min(self.choices, key=lambda c: abs(c - float(value)))
        return self.default


@dataclass(frozen=True, eq=False)
class FitSpec:
    """Everything a family lets the learner set (see the module docstring).

    Parameters
    ----------
    inits : dict
        Initialisation scheme → its on-screen name, in the order offered. ``"custom"`` is the
        learner's own starting means (θ₀ from ``emcore.params_from_means``), so only a family
        whose θ has means (and covariances) offers it.
    options : tuple of FitOption
        The family's own settings, in the order shown.
    hard_em : str or None
        The help text of a "hard EM" switch when the family offers one (a page still decides
        whether to show it); None: no switch.
    """

    inits: dict = field(default_factory=lambda: dict(GENERIC_INITS))
    options: tuple = ()
    hard_em: str | None = None

    def option(self, name) -> FitOption:
        for o in self.options:
            if o.name == name:
                return o
        raise KeyError(name)

    def defaults(self) -> dict:
        """Option name → default, for every option."""
        return {o.name: o.default for o in self.options}


def alpha_option(label: str, help: str) -> FitOption:
    """The option ``alpha`` of a family with one symmetric prior concentration α ≥ 1 (a
    slider over :data:`ALPHA_CHOICES`, 1 = plain maximum likelihood)."""
    return FitOption("alpha", "slider", ALPHA_CHOICES, 1.0, label, help=help)
