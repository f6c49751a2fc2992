"""What a setting's check is made of: a test of the value and the words for what is allowed (``key -> (test,
allowed)``), and the one-line error of a value that fails it. The shared settings' rules are autodo.config's; each
task package brings its own (``RULES``)."""

import math
import numbers

from omegaconf import ListConfig

from autodo.errors import UserError


def is_number(value):
    """A finite real number (not a bool: YAML's true is no number)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_class_list(value):
    """null, or two or more class numbers in increasing order."""
    return value is None or (isinstance(value, (list, tuple, ListConfig)) and len(value) >= 2
                             and all(map(is_int, value)) and list(value) == sorted(set(value)))


def is_flip_map(value):
    """A list of [from, to] pairs of class numbers, each class a source once, never flipped to itself."""
    def is_pair(pair):
        return isinstance(pair, (list, tuple, ListConfig)) and len(pair) == 2 and all(is_int(c) and c >= 0
                                                                                      for c in pair)

    if not isinstance(value, (list, tuple, ListConfig)) or not value or not all(map(is_pair, value)):
        return False
    sources = [source for source, _ in value]
    return len(set(sources)) == len(sources) and all(source != target for source, target in value)


def one_of(*options):
    return (lambda v: v in options, f"one of {', '.join(map(str, options))}")


BOOLEAN = (lambda v: isinstance(v, bool), "true or false")
OPEN_UNIT = (lambda v: is_number(v) and 0 < v < 1, "a number in (0, 1)")
SHARE = (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1] (a share of dataset.epochs)")
POSITIVE = (lambda v: is_number(v) and v > 0, "a number > 0")
POSITIVE_INT = (lambda v: is_int(v) and v > 0, "an integer > 0")
NON_NEGATIVE = (lambda v: is_number(v) and v >= 0, "a number >= 0")
FACTOR = (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]")


def int_list(low=1, length=None):
    """A list of integers >= ``low`` (of ``length`` items, where given)."""
    def test(value):
        return (isinstance(value, (list, tuple, ListConfig)) and all(is_int(v) and v >= low for v in value)
                and (length is None or len(value) == length))
    return test, f"a list of integers >= {low}" + (f" ({length} of them)" if length else "")
COUNT = (lambda v: is_int(v) and v >= 0, "an integer >= 0")


def at_least(low, what=""):
    return (lambda v: is_int(v) and v >= low, f"an integer >= {low}{f' ({what})' if what else ''}")


def check_value(rules, key, value):
    """Raise a one-line ``UserError`` if ``value`` is not allowed for ``key`` under ``rules``."""
    if key in rules:
        test, allowed = rules[key]
        if not test(value):
            raise UserError(f"{key}={value!r} is not allowed: {key} must be {allowed}")
