"""Checkpoints: everything needed to continue a run exactly, written atomically."""

from pathlib import Path

import torch

from autodo.errors import UserError
from autodo.io import atomic_torch_save, unreadable, verified_torch_load


def save_checkpoint(path, state, generators, history):
    """Save the ``state_dict`` of every object in ``state``, the random-number streams (global and
    ``generators``) and the metric history."""
    checkpoint = {name: obj.state_dict() for name, obj in state.items()}
    checkpoint["rng"] = {"torch": torch.get_rng_state()}
    checkpoint["rng"].update({name: generator.get_state() for name, generator in generators.items()})
    if torch.cuda.is_available():
        checkpoint["rng"]["cuda"] = torch.cuda.get_rng_state_all()
    checkpoint["history"] = history
    atomic_torch_save(path, checkpoint)


def load_checkpoint(path, state, generators, device):
    """Restore ``state`` and the random streams from ``path`` if it exists; return the metric history so far."""
    if not Path(path).exists():
        return []
    try:
        checkpoint = verified_torch_load(path, map_location=device)
        for name, obj in state.items():
            obj.load_state_dict(checkpoint[name])
        torch.set_rng_state(checkpoint["rng"]["torch"].cpu())
        for name, generator in generators.items():
            generator.set_state(checkpoint["rng"][name].cpu())
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is not this run's checkpoint
        raise UserError(f"checkpoint {path} is unreadable ({unreadable(error)}): delete it to start the run "
                        "again, or move the folder away") from None
    if "cuda" in checkpoint["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in checkpoint["rng"]["cuda"]])
    return checkpoint["history"]
