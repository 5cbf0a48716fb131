"""Choosing where LightGBM trains: CPU, its OpenCL GPU learner, or its CUDA learner.

`resolve_device` turns what the user asked for (`--device cpu|gpu|cuda|auto`) into what will run, by
training a tiny booster on the candidate device: the pip wheel of LightGBM ships the OpenCL learner
(`device_type='gpu'`), which still needs an OpenCL platform at run time, and the CUDA learner
(`device_type='cuda'`) only exists in builds compiled with `-DUSE_CUDA=1`. Nothing is cached: the
returned `DeviceChoice` is passed to whoever trains.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import lightgbm
import numpy as np

from ml.errors import DeviceUnavailableError, InvalidInputError

DEVICES = ("cpu", "gpu", "cuda", "auto")
# Order in which 'auto' tries the accelerated learners before settling on the CPU.
AUTO_ORDER = ("cuda", "gpu")

_LEARNER_NAMES = {
    "gpu": "LightGBM's GPU (OpenCL) learner",
    "cuda": "LightGBM's CUDA learner",
}
# What each accelerated learner needs, said once in the error.
_REQUIREMENTS = {
    "gpu": "it needs an OpenCL platform with a device",
    "cuda": "it needs a LightGBM built with -DUSE_CUDA=1 and an NVIDIA GPU",
}


@dataclass(frozen=True)
class DeviceChoice:
    """What was asked for, what will run, and why.

    Attributes
    ----------
    requested
        the device asked for: 'cpu', 'gpu', 'cuda' or 'auto'.
    used
        the LightGBM `device_type` that will run: 'cpu', 'gpu' or 'cuda'.
    reason
        one sentence saying why `used` was chosen (for 'auto': which learners were skipped and why).
    skipped
        (device, why) pairs for the learners 'auto' tried and could not use.
    """

    requested: str
    used: str
    reason: str
    skipped: tuple[tuple[str, str], ...] = ()

    def lightgbm_params(self) -> dict:
        """The LightGBM parameters that select this device."""
        params: dict = {"device_type": self.used}
        if self.used == "gpu":
            # The OpenCL learner sums histograms in single precision unless told otherwise; double
            # precision keeps `deterministic=True` meaningful and results close to the CPU's.
            params["gpu_use_dp"] = True
        return params


def probe_device(device_type: str) -> str | None:
    """Train a one-iteration booster on a few rows with `device_type`.

    Parameters
    ----------
    device_type
        a LightGBM device type: 'cpu', 'gpu' or 'cuda'.

    Returns
    -------
    None when the learner works, else the first line of LightGBM's error message, without a final period.
    """
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, 2))
    labels = (features[:, 0] > 0).astype(np.int8)
    params = {
        "objective": "binary",
        "device_type": device_type,
        "num_threads": 1,
        "min_data_in_leaf": 1,
        "min_data_in_bin": 1,
        "verbose": -1,
    }
    try:
        with _native_stderr_silenced():
            lightgbm.train(params, lightgbm.Dataset(features, label=labels), num_boost_round=1)
    except lightgbm.basic.LightGBMError as error:
        # LightGBM's first line says what is missing; later lines are build instructions.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return lines[0].rstrip(".") if lines else type(error).__name__
    return None


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration of a probe.

    LightGBM's C++ core prints "[LightGBM] [Fatal] ..." straight to file descriptor 2 before raising, which
    would show an alarming "Fatal" line on every `--device auto` run on a machine without CUDA; the probe
    returns the same message, and the caller reports it, so nothing is lost. Where descriptor 2 cannot be
    duplicated (no real stderr), the probe runs unchanged.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def resolve_device(requested: str) -> DeviceChoice:
    """Decide which LightGBM learner trains, probing accelerated learners with a tiny booster.

    Parameters
    ----------
    requested
        'cpu' (always works), 'gpu' (LightGBM's OpenCL learner), 'cuda' (LightGBM's CUDA
        learner, needs a CUDA build of LightGBM) or 'auto' (cuda, then gpu, then cpu).

    Returns
    -------
    A `DeviceChoice` recording the request, the device used and why.

    Raises
    ------
    InvalidInputError
        `requested` is not one of `DEVICES`.
    DeviceUnavailableError
        'gpu' or 'cuda' was requested and that learner does not work here.
    """
    if requested not in DEVICES:
        raise InvalidInputError(f"device must be one of {', '.join(DEVICES)}; got {requested!r}")
    if requested == "cpu":
        return DeviceChoice(requested, "cpu", "the CPU was requested")
    if requested in AUTO_ORDER:
        problem = probe_device(requested)
        if problem is not None:
            raise DeviceUnavailableError(
                f"{_LEARNER_NAMES[requested]} is not available on this machine: {problem} "
                f"({_REQUIREMENTS[requested]}); use --device cpu or auto."
            )
        return DeviceChoice(requested, requested, f"{_LEARNER_NAMES[requested]} was requested and works")

    skipped: list[tuple[str, str]] = []
    for candidate in AUTO_ORDER:
        problem = probe_device(candidate)
        if problem is None:
            reason = f"auto: {_LEARNER_NAMES[candidate]} works"
            if skipped:
                reason += " (" + _describe_skipped(skipped) + ")"
            return DeviceChoice(requested, candidate, reason, tuple(skipped))
        skipped.append((candidate, problem))
    return DeviceChoice(
        requested, "cpu", "auto: fell back to the CPU (" + _describe_skipped(skipped) + ")", tuple(skipped)
    )


def _describe_skipped(skipped: list[tuple[str, str]]) -> str:
    return "; ".join(f"{device} skipped: {why}" for device, why in skipped)
