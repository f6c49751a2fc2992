"""The augmentation-subsampling task (``task=subsample``). Its face is ``autodo.tasks.subsample.task``; here are its
settings' checks (``RULES``, ``validate``), which import no torch."""

from autodo.errors import UserError
from autodo.rules import BOOLEAN, POSITIVE, at_least, is_class_list, is_int, one_of
from autodo.vocabulary import COPY_AUGMENTATIONS


def _is_budget(value):
    """A share in [0, 1) or a count (an integer >= 0); 1.0 is neither (policy=all augments every point)."""
    return (isinstance(value, float) and 0 <= value < 1) or (is_int(value) and value >= 0)


RULES = {
    "subsample.classes": (is_class_list, "null (every class) or a list of two or more class numbers in increasing "
                                         "order"),
    "subsample.augmentation": one_of(*COPY_AUGMENTATIONS),
    "subsample.policy": one_of("none", "all", "random", "loss", "influence"),
    "subsample.budget": (_is_budget, "a share of the train points in [0, 1) or a count (an integer >= 0)"),
    "subsample.selection": one_of("top", "proportional"),
    "subsample.stratify": BOOLEAN,
    "subsample.rounds": at_least(1),
    "subsample.copies": at_least(1),
    "subsample.evaluate": one_of("augmented", "clean"),
    "subsample.head": one_of("logistic", "network"),
    "subsample.l2": POSITIVE,
}


def validate(cfg):
    """The rules between a subsample run's settings, each a one-line ``UserError``."""
    classes = cfg.subsample.classes
    if classes is not None and not all(0 <= c < cfg.dataset.num_classes for c in classes):
        raise UserError(f"subsample.classes={list(classes)} is not allowed: {cfg.dataset.name}'s classes are 0 .. "
                        f"{cfg.dataset.num_classes - 1}")
    if classes is not None and cfg.subsample.head == "network":
        raise UserError(f"subsample.classes={list(classes)} is not allowed with subsample.head=network: the network "
                        "is trained on every class (leave it null)")
