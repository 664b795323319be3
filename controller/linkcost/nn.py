"""The link-cost neural network as the controller uses it: load a model file, predict.

A multilayer perceptron in plain NumPy: dense layers ``a = f(x @ W + b)`` with sigmoid,
tanh, relu or identity activations, input (and target) standardisation stored with the
model, validated inputs and a pickle-free ``.npz`` file format. Training (derivatives,
loss, backpropagation, optimisers, ``save``) lives in ``training/nn_training.py``, so
the running controller never imports it.

Everything is float64. Nothing here imports Ryu.

File format (version 1), one ``.npz`` written with ``allow_pickle=False``:
``format_version`` (int), ``layer_sizes`` (ints: inputs, hidden..., outputs),
``activations`` (one string per layer), ``loss`` (string), ``W<i>``/``b<i>`` per layer,
optional ``input_mean``/``input_std`` and ``target_mean``/``target_std``,
``loss_history``/``val_loss_history`` (floats) and ``metadata`` (a JSON string with
``seed``, ``feature_names`` and a free ``metadata`` object).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

FORMAT_VERSION = 1
LOSSES = ("sse", "mse")  # the loss a model was trained with; recorded in the file

# --------------------------------------------------------------------------- activations


def sigmoid(z: FloatArray) -> FloatArray:
    """Logistic function 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))  # in (0, 1], never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(z: FloatArray) -> FloatArray:
    """Rectified linear unit max(0, z)."""
    return np.maximum(z, 0.0)


def tanh(z: FloatArray) -> FloatArray:
    """Hyperbolic tangent."""
    return np.tanh(z)


def identity(z: FloatArray) -> FloatArray:
    """Linear activation, used on the output layer for regression."""
    return np.array(z, dtype=np.float64, copy=True)


@dataclass(frozen=True)
class Activation:
    """An activation function of the pre-activation z (its derivative is training's)."""

    name: str
    forward: Callable[[FloatArray], FloatArray]
    init: str  # "xavier" or "he": the weight initialisation that suits it


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", sigmoid, "xavier"),
    "relu": Activation("relu", relu, "he"),
    "tanh": Activation("tanh", tanh, "xavier"),
    "identity": Activation("identity", identity, "xavier"),
}
_ALIASES = {"linear": "identity"}


def get_activation(name: str) -> Activation:
    """Look up an activation by name ("sigmoid", "relu", "tanh", "identity"/"linear")."""
    key = _ALIASES.get(name, name)
    if key not in ACTIVATIONS:
        known = ", ".join(sorted([*ACTIVATIONS, *_ALIASES]))
        raise ValueError(f"unknown activation {name!r}; expected one of: {known}")
    return ACTIVATIONS[key]


# --------------------------------------------------------------------------- scaling


@dataclass
class Standardizer:
    """Per-column (x - mean) / std, fitted on training data (training.nn_training)."""

    mean: FloatArray
    std: FloatArray

    def transform(self, data: FloatArray) -> FloatArray:
        """Scale raw values into standardised units."""
        return (data - self.mean) / self.std

    def inverse_transform(self, data: FloatArray) -> FloatArray:
        """Map standardised values back to raw units."""
        return data * self.std + self.mean


# --------------------------------------------------------------------------- layers


class Dense:
    """Fully connected layer a = f(x @ W + b), W of shape (n_inputs, n_outputs)."""

    def __init__(self, weights: ArrayLike, biases: ArrayLike, activation: str | Activation):
        w = np.array(weights, dtype=np.float64)
        b = np.array(biases, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"weights must be 2-D, got shape {w.shape}")
        if b.shape != (w.shape[1],):
            raise ValueError(f"biases shape {b.shape} does not match weights {w.shape}")
        self.weights: FloatArray = w
        self.biases: FloatArray = b
        self.activation = get_activation(activation) if isinstance(activation, str) else activation

    @classmethod
    def initialized(
        cls, n_inputs: int, n_outputs: int, activation: str, rng: np.random.Generator
    ) -> Dense:
        """New layer with zero biases and Xavier (sigmoid/tanh/identity) or He (relu) weights."""
        act = get_activation(activation)
        if act.init == "he":
            scale = math.sqrt(2.0 / n_inputs)
        else:
            scale = math.sqrt(2.0 / (n_inputs + n_outputs))
        weights = rng.normal(0.0, scale, size=(n_inputs, n_outputs))
        return cls(weights, np.zeros(n_outputs), act)

    @property
    def n_inputs(self) -> int:
        """Number of input features."""
        return int(self.weights.shape[0])

    @property
    def n_outputs(self) -> int:
        """Number of units."""
        return int(self.weights.shape[1])

    def pre_activation(self, x: FloatArray) -> FloatArray:
        """z = x @ W + b."""
        return x @ self.weights + self.biases

    def forward(self, x: FloatArray) -> FloatArray:
        """a = f(z)."""
        return self.activation.forward(self.pre_activation(x))


# --------------------------------------------------------------------------- network


class NeuralNetwork:
    """Multilayer perceptron: seeded construction, prediction and loading from a file.

    ``loss`` names the loss the model is (or was) trained with: ``"sse"``, the tutorial's
    sum of squared errors, or ``"mse"``, its mean. Training is
    ``training.nn_training.TrainableNetwork``, a subclass.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activations: Sequence[str],
        *,
        seed: int = 0,
        loss: str = "sse",
        feature_names: Sequence[str] | None = None,
    ):
        sizes = [int(s) for s in layer_sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes) or list(layer_sizes) != sizes:
            raise ValueError(
                f"layer_sizes must be >= 2 positive integers (inputs, ..., outputs), "
                f"got {list(layer_sizes)}"
            )
        if len(activations) != len(sizes) - 1:
            raise ValueError(
                f"need one activation per layer: {len(sizes) - 1} for sizes {sizes}, "
                f"got {len(activations)}"
            )
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of: {', '.join(LOSSES)}")
        self.loss_name = loss
        self.seed = int(seed)
        # Stream 0 of the seed initialises the weights; stream 1 is training's batch
        # shuffle, so changing the batch schedule never changes the initialisation.
        init_rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(2)[0])
        self.layers: list[Dense] = [
            Dense.initialized(n_in, n_out, act, init_rng)
            for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True)
        ]
        self.input_scaler: Standardizer | None = None
        self.target_scaler: Standardizer | None = None
        self.feature_names: list[str] | None = None
        self.set_feature_names(feature_names)
        self.loss_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.metadata: dict[str, Any] = {}

    @property
    def layer_sizes(self) -> list[int]:
        """[n_inputs, hidden..., n_outputs]."""
        return [self.layers[0].n_inputs, *(layer.n_outputs for layer in self.layers)]

    @property
    def n_inputs(self) -> int:
        """Number of input features the model expects."""
        return self.layers[0].n_inputs

    @property
    def n_outputs(self) -> int:
        """Number of predicted values per sample."""
        return self.layers[-1].n_outputs

    @property
    def activation_names(self) -> list[str]:
        """Activation name of each layer, input side first."""
        return [layer.activation.name for layer in self.layers]

    def set_feature_names(self, names: Sequence[str] | None) -> None:
        """Record the input column names (checked against the input width)."""
        if names is None:
            self.feature_names = None
            return
        names = [str(n) for n in names]
        if len(names) != self.n_inputs:
            raise ValueError(f"got {len(names)} feature names for {self.n_inputs} inputs")
        self.feature_names = names

    def predict(self, X: ArrayLike) -> FloatArray:
        """Predicted targets in raw units, shape (n_samples, n_outputs)."""
        x = self._check_inputs(X, "X")
        out = self._forward(self._scale_inputs(x))
        if self.target_scaler is not None:
            out = self.target_scaler.inverse_transform(out)
        return out

    def _forward(self, x: FloatArray) -> FloatArray:
        """The forward pass in scaled units: each layer's output feeds the next."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def _check_inputs(self, X: ArrayLike, what: str) -> FloatArray:
        x = as_float_array(X, what)
        if x.ndim != 2:
            raise ValueError(
                f"{what} must be 2-D (n_samples, {self.n_inputs}), got shape {x.shape}; "
                "use reshape(1, -1) for a single sample"
            )
        if x.shape[1] != self.n_inputs:
            raise ValueError(f"{what} has {x.shape[1]} columns, model expects {self.n_inputs}")
        if x.shape[0] == 0:
            raise ValueError(f"{what} has no rows")
        check_finite(x, what)
        return x

    def _scale_inputs(self, x: FloatArray) -> FloatArray:
        return x if self.input_scaler is None else self.input_scaler.transform(x)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        expected_feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Read a model file; ValueError if it is corrupt or inconsistent.

        With ``expected_feature_names``, also fail unless the stored names match exactly.
        A missing file raises FileNotFoundError.
        """
        where = os.fspath(path)
        try:
            with np.load(where, allow_pickle=False) as npz:
                data = {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(f"{where}: not a readable model file ({exc})") from exc
        try:
            model = cls._from_arrays(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{where}: invalid model file: {exc}") from exc
        if expected_feature_names is not None and model.feature_names != list(
            expected_feature_names
        ):
            raise ValueError(
                f"{where}: model features {model.feature_names} do not match the expected "
                f"{list(expected_feature_names)}"
            )
        return model

    @classmethod
    def _from_arrays(cls, data: dict[str, npt.NDArray[Any]]) -> Self:
        def need(key: str) -> npt.NDArray[Any]:
            if key not in data:
                raise ValueError(f"missing entry {key!r}")
            return data[key]

        version = need("format_version")
        if version.shape != () or int(version) != FORMAT_VERSION:
            raise ValueError(f"unsupported format_version {version!r}, expected {FORMAT_VERSION}")
        sizes_arr = need("layer_sizes")
        if sizes_arr.ndim != 1 or sizes_arr.size < 2 or sizes_arr.dtype.kind not in "iu":
            raise ValueError("layer_sizes must be a 1-D integer array of length >= 2")
        sizes = [int(s) for s in sizes_arr]
        acts_arr = need("activations")
        if acts_arr.dtype.kind != "U" or acts_arr.shape != (len(sizes) - 1,):
            raise ValueError(f"activations must be {len(sizes) - 1} strings, got {acts_arr!r}")
        acts = [str(a) for a in acts_arr]
        loss = str(need("loss"))
        header = json.loads(str(need("metadata")))
        if not isinstance(header, dict) or not isinstance(header.get("metadata", {}), dict):
            raise ValueError("metadata must be a JSON object with a 'metadata' object inside")

        model = cls(sizes, acts, seed=int(header.get("seed", 0)), loss=loss)
        for i, layer in enumerate(model.layers):
            w = _float_entry(data, f"W{i}", (layer.n_inputs, layer.n_outputs))
            b = _float_entry(data, f"b{i}", (layer.n_outputs,))
            layer.weights, layer.biases = w, b
        weight_keys = sorted(k for k in data if k[:1] in "Wb" and k[1:].isdigit())
        if len(weight_keys) != 2 * len(model.layers):
            raise ValueError(
                f"file has weight entries {weight_keys} for {len(model.layers)} layers"
            )
        for prefix in ("input", "target"):
            width = model.n_inputs if prefix == "input" else model.n_outputs
            has_mean, has_std = f"{prefix}_mean" in data, f"{prefix}_std" in data
            if has_mean != has_std:
                raise ValueError(f"{prefix} normalisation needs both mean and std")
            if has_mean:
                mean = _float_entry(data, f"{prefix}_mean", (width,))
                std = _float_entry(data, f"{prefix}_std", (width,))
                if np.any(std <= 0):
                    raise ValueError(f"{prefix}_std must be positive")
                scaler = Standardizer(mean, std)
                if prefix == "input":
                    model.input_scaler = scaler
                else:
                    model.target_scaler = scaler
        model.set_feature_names(header.get("feature_names"))
        model.loss_history = [float(v) for v in data.get("loss_history", np.empty(0))]
        model.val_loss_history = [float(v) for v in data.get("val_loss_history", np.empty(0))]
        model.metadata = dict(header.get("metadata", {}))
        return model


# --------------------------------------------------------------------------- helpers


def as_float_array(values: ArrayLike, what: str) -> FloatArray:
    """``values`` as a new float64 array; ValueError naming ``what`` if not numeric."""
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from exc


def check_finite(values: FloatArray, what: str) -> None:
    """ValueError naming ``what`` and the first bad row if any value is NaN or infinite."""
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{what} contains {int(bad.sum())} NaN/inf value(s), first in row {row}")


def _float_entry(data: dict[str, npt.NDArray[Any]], key: str, shape: tuple[int, ...]) -> FloatArray:
    if key not in data:
        raise ValueError(f"missing entry {key!r}")
    arr = data[key]
    if arr.dtype.kind != "f":
        raise ValueError(f"{key} must be a float array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{key} has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{key} contains NaN/inf")
    return arr.astype(np.float64)
