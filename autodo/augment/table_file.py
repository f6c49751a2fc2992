"""A table of sub-policies in Fast AutoAugment's format (DADA's: searched by autodo.augment.dada or brought in a
file): the record a run applies, and a file's table read and checked, with its signature. No torch: the checks of a
command line read it."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from autodo.errors import UserError
from autodo.vocabulary import FAST_AUTOAUGMENT_OPS


@dataclass
class PolicyTable:
    table: list  # sub-policies, each [[op, probability, level], ...]
    source: str  # "search", or the file's path
    weights: list = None  # searched: each kept sub-policy's probability under the categorical
    search_time_s: float = None  # searched: what the search took, whoever ran it
    cached: bool = None  # searched: the table was found in the cache (a seed-mate searched it)
    obtained_in_s: float = 0.0  # what this process spent getting it: searching, or waiting for a seed-mate

    def record(self):
        """The run folder's ``policy.json``: readable, and a table file itself (``aug_model.policy=<it>``)."""
        record = {"source": "DADA searched here" if self.source == "search" else self.source,
                  "policies": {"dada": self.table}}
        if self.source == "search":
            record.update(weights=self.weights, search_time_s=self.search_time_s, cached=self.cached)
        return record


def read_table(path):
    """The one table of the JSON file ``path`` (the format of autodo/augment/fast_autoaugment.json:
    ``{"policies": {name: [[[op, probability, level], ...], ...]}}``), checked; a one-line ``UserError`` names
    what is wrong."""
    where = f"aug_model.policy={path}"
    try:
        policies = json.loads(Path(path).read_text())["policies"]
    except OSError as error:
        raise UserError(f"{where}: cannot read it ({error.strerror})") from None
    except (ValueError, TypeError, KeyError):
        raise UserError(f"{where} is not a policy file: a JSON object with \"policies\": {{name: table}} is "
                        "allowed") from None
    if not isinstance(policies, dict) or len(policies) != 1:
        names = (", ".join(map(str, policies)) or "no table") if isinstance(policies, dict) else \
            type(policies).__name__
        raise UserError(f"{where}: \"policies\" holds {names}; one table by name is allowed")
    (name, table), = policies.items()
    if not isinstance(table, list) or not table:
        raise UserError(f"{where}: table {name!r} is not a non-empty list of sub-policies")
    for number, sub_policy in enumerate(table):
        if not isinstance(sub_policy, list) or not sub_policy:
            raise UserError(f"{where}: sub-policy {number} of {name!r} is not a non-empty list of [op, "
                            "probability, level]")
        for entry in sub_policy:
            _check_entry(entry, f"{where}: sub-policy {number} of {name!r}")
    # numbers as floats, so that a table is one table however its numbers are written (1 or 1.0)
    return [[[op, float(probability), float(level)] for op, probability, level in sub] for sub in table]


def _check_entry(entry, where):
    is_unit = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
    if not (isinstance(entry, list) and len(entry) == 3):
        raise UserError(f"{where}: {entry!r} is not [op, probability, level]")
    op, probability, level = entry
    if not isinstance(op, str) or op not in FAST_AUTOAUGMENT_OPS:
        raise UserError(f"{where}: op {op!r} is not allowed: one of {', '.join(FAST_AUTOAUGMENT_OPS)}")
    if not (is_unit(probability) and is_unit(level)):
        raise UserError(f"{where}: {entry!r}: probability and level must be numbers in [0, 1]")


def table_signature(path):
    """The hex SHA-256 of the table in the file ``path``: what a run with it computes (not where the file is, nor
    how its numbers are written)."""
    text = json.dumps(read_table(path), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
