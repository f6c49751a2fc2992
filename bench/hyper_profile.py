#!/usr/bin/env python
"""Where one hyper pass of full AutoDO (SEP + BOTH + HES) spends its time, against a training epoch of the same run.

Builds the run as training does (autodo.trainer; Fashion-MNIST at 100-0.1 when Debian's copy is installed, else
digits), trains one epoch, then times (medians of three rounds in turn) a training epoch, a hyper pass and the
pass's floor: what any hypergradient of a learned augmentation needs, the encoder's forward pass over the same
batches and its backward pass to the input images, with no weight gradients and nothing else. It then profiles a second hyper pass with
torch.profiler: its stages (each timed inclusive of what it calls) and the operators with the most time of
their own. Nothing in the product is changed for it: the stages are labelled by wrapping the pass's functions
here.

    python bench/hyper_profile.py
    python bench/hyper_profile.py dataset=digits
"""

import itertools
import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from torch.profiler import ProfilerActivity, profile, record_function

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autodo.trainer import build_run  # noqa: E402
from autodo.engine import train_one_epoch  # noqa: E402
from autodo.hyper import optimizer as hyper_module  # noqa: E402

DATASET = "fashion_mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir() else "digits"


STAGES = []  # the labels given, in the pass's order


def labelled(label, function):
    STAGES.append(label)

    def call(*args, **kwargs):
        with record_function(label):
            return function(*args, **kwargs)
    return call


def label_stages(parts):
    """Wrap the hyper pass's parts in profiler labels (for this process only)."""
    data = parts.data
    data.hyper_train_loader.dataset.__getitems__ = labelled("load train batch",
                                                            data.hyper_train_loader.dataset.__getitems__)
    data.train_transform.forward = labelled("standard train transform", data.train_transform.forward)
    parts.aug_model.forward = labelled("learned warp, forward", parts.aug_model.forward)
    hyper_module.features_of = labelled("validation features (once a pass)", hyper_module.features_of)
    hyper_module.implicit_hypergradient = labelled("HVPs and backward to lambda (warp and encoder backward)",
                                                   hyper_module.implicit_hypergradient)
    fuse = hyper_module.fuse

    def labelled_fuse(encoder):
        folded = fuse(encoder)
        folded.forward = labelled("encoder forward", folded.forward)
        return folded

    hyper_module.fuse = labelled_fuse
    parts.hyper.step = labelled("RMSprop step on every lambda row", parts.hyper.step)


def hyper_pass(parts):
    lr = parts.optimizer.param_groups[0]["lr"]
    return hyper_module.hyper_epoch(parts.hyper, parts.model, parts.data, parts.aug_model, parts.loss_model,
                                    parts.device, lr)


def floor_pass(parts):
    """The encoder forward and backward to the input over the hyper pass's batches, as the pass runs the encoder
    (batch norms folded, channels last): the warp, the loss model, the HVPs and the optimizer step left out."""
    data = parts.data
    parts.model.eval()
    encoder = hyper_module.fuse(parts.model.encoder).to(memory_format=torch.channels_last)
    parts.model.train()
    steps = hyper_module.steps_per_pass(data.hyper_train_loader, parts.hyper.cfg.pass_fraction)
    for images, _, _ in itertools.islice(data.hyper_train_loader, steps):
        images = data.train_transform(images.to(parts.device)).requires_grad_()
        torch.autograd.grad(encoder(images).sum(), images)


def train_epoch(parts):
    return train_one_epoch(parts.model, parts.data.train_loader, parts.data.train_transform, parts.aug_model,
                           parts.loss_model, parts.optimizer, parts.scheduler, parts.scaler, parts.device, False)


def median_times(functions, parts, rounds=3):
    """Each function's median wall time over ``rounds`` rounds that run them in turn, so that a slow spell of the
    machine falls on all of them."""
    times = [[] for _ in functions]
    for _ in range(rounds):
        for function, kept in zip(functions, times):
            start = time.perf_counter()
            function(parts)
            kept.append(time.perf_counter() - start)
    return [statistics.median(kept) for kept in times]


def main(overrides):
    dataset = [] if any(o.startswith("dataset=") for o in overrides) else [f"dataset={DATASET}"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[*dataset, "ir=100", "nr=0.1", "method=autodo", "device=cpu", *overrides])
    parts = build_run(cfg, cfg.data_root)
    train_epoch(parts)  # a trained network, not the start
    epoch_s, pass_s, floor_s = median_times((train_epoch, hyper_pass, floor_pass), parts)
    label_stages(parts)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        with record_function("hyper pass"):
            hyper_pass(parts)
    events = profiler.key_averages()
    total = next(e.cpu_time_total for e in events if e.key == "hyper pass")
    print(f"dataset {cfg.dataset.name}, {len(parts.data.train_loader.dataset)} train images, hyper batch "
          f"{cfg.dataset.hyper_batch_size}, {torch.get_num_threads()} threads")
    print(f"medians of 3 rounds: training epoch (train only): {epoch_s:.2f} s; hyper pass: {pass_s:.2f} s "
          f"(ratio hyper pass / training epoch: {pass_s / epoch_s:.2f})")
    print(f"the pass's floor (encoder forward and backward to the input): {floor_s:.2f} s "
          f"({floor_s / epoch_s:.2f} x the training epoch, {floor_s / pass_s:.2f} x the hyper pass)")
    print(f"\nstages of the profiled hyper pass ({total / 1e6:.2f} s under the profiler), inclusive CPU time:")
    for event in sorted((e for e in events if e.key in STAGES), key=lambda e: -e.cpu_time_total):
        print(f"  {event.key:58s} {event.cpu_time_total / 1e6:6.2f} s  {100 * event.cpu_time_total / total:5.1f}%"
              f"  ({event.count} calls)")
    print("\noperators with the most time of their own:")
    operators = (e for e in events if e.key not in STAGES and e.key != "hyper pass")
    for event in sorted(operators, key=lambda e: -e.self_cpu_time_total)[:12]:
        print(f"  {event.key:58s} {event.self_cpu_time_total / 1e6:6.2f} s  "
              f"{100 * event.self_cpu_time_total / total:5.1f}%")


if __name__ == "__main__":
    main(sys.argv[1:])
