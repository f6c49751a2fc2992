"""The active-learning task (``task=active_learning``). Its face is ``autodo.tasks.active_learning.task``; here are its
settings' checks (``RULES``, ``validate``), which import no torch."""

from autodo.rules import at_least, is_int, one_of

ACQUISITIONS = ("random", "entropy", "varR", "coreset", "badge", "fisher")  # active_learning.acquisition
MAX_STEPS = 1_000_000

RULES = {
    "active_learning.acquisition": one_of(*ACQUISITIONS),
    "active_learning.initial": at_least(1),
    "active_learning.budget": at_least(1),
    "active_learning.iterations": at_least(1),
    # each model trains at least this many SGD steps: a bound, so that a typo cannot make a run of years
    "active_learning.min_steps": (lambda v: is_int(v) and 0 <= v <= MAX_STEPS, f"an integer in 0 .. {MAX_STEPS:,}"),
    "active_learning.retrain": one_of("scratch", "warm"),
    "active_learning.init": one_of("random", "rotation"),
    "active_learning.pseudo_label": one_of("prediction", "rotation"),
    "active_learning.passes": at_least(2),
    "active_learning.projection": (lambda v: v is None or (is_int(v) and v >= 1), "null or an integer >= 1"),
}


def validate(cfg):
    """The rules between an active-learning run's settings: none beyond each setting's own."""
