"""Mixed precision: the autocast context of every forward pass, one definition for every loop. Imports nothing from
the project."""

import torch


def autocast(device, amp):
    """Autocast to half precision where ``amp`` (mixed precision asked for) and the device is CUDA; a no-op context
    otherwise (CPU autocast would change the numbers of a run that did not ask for it)."""
    return torch.autocast(device_type=device.type, enabled=amp and device.type == "cuda")
