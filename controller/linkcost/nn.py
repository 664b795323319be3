"""A small multilayer perceptron in plain NumPy, used to learn link costs.

The model follows the classic "build a neural network from scratch" recipe: dense
layers, sigmoid (or relu/tanh) activations, a sum-of-squares loss, backpropagation
written out by the chain rule, and plain gradient descent with a learning rate. On top
of that it adds mini-batches, input/target standardisation stored with the model,
early stopping, validated inputs and a pickle-free ``.npz`` file format.

Everything is float64. Nothing here imports Ryu, so it can be trained and tested
without a switch (and, per STYLE.md, training runs outside the packet path).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

FORMAT_VERSION = 1
LOSSES = ("sse", "mse")

# --------------------------------------------------------------------------- activations


def sigmoid(z: FloatArray) -> FloatArray:
    """Logistic function 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))  # in (0, 1], never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z: FloatArray) -> FloatArray:
    """d sigmoid / dz = s (1 - s)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def relu(z: FloatArray) -> FloatArray:
    """Rectified linear unit max(0, z)."""
    return np.maximum(z, 0.0)


def relu_derivative(z: FloatArray) -> FloatArray:
    """1 where z > 0, else 0 (the subgradient 0 is used at the kink z == 0)."""
    return (z > 0).astype(np.float64)


def tanh(z: FloatArray) -> FloatArray:
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_derivative(z: FloatArray) -> FloatArray:
    """d tanh / dz = 1 - tanh(z)^2."""
    t = np.tanh(z)
    return 1.0 - t * t


def identity(z: FloatArray) -> FloatArray:
    """Linear activation, used on the output layer for regression."""
    return np.array(z, dtype=np.float64, copy=True)


def identity_derivative(z: FloatArray) -> FloatArray:
    """d z / dz = 1."""
    return np.ones_like(z, dtype=np.float64)


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative (both taking the pre-activation z)."""

    name: str
    forward: Callable[[FloatArray], FloatArray]
    derivative: Callable[[FloatArray], FloatArray]
    init: str  # "xavier" or "he": the weight initialisation that suits it


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_derivative, "xavier"),
    "relu": Activation("relu", relu, relu_derivative, "he"),
    "tanh": Activation("tanh", tanh, tanh_derivative, "xavier"),
    "identity": Activation("identity", identity, identity_derivative, "xavier"),
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
    """Per-column (x - mean) / std, fitted on training data; zero-std columns get std 1."""

    mean: FloatArray
    std: FloatArray

    @classmethod
    def fit(cls, data: FloatArray) -> Standardizer:
        """Compute column means and standard deviations of a 2-D array."""
        mean = data.mean(axis=0)
        std = data.std(axis=0)
        # A constant column carries no information; leave it centred instead of dividing by 0.
        std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return cls(mean.astype(np.float64), std.astype(np.float64))

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


@dataclass(frozen=True)
class Gradients:
    """dLoss/dW and dLoss/db for every layer (same order and shapes as the layers)."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    loss: float


@dataclass
class TrainingResult:
    """What one call to ``fit`` did."""

    epochs_run: int
    final_loss: float
    best_val_loss: float | None = None
    stopped_early: bool = False
    loss_history: list[float] = field(default_factory=list)
    val_loss_history: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- network


class NeuralNetwork:
    """Multilayer perceptron trained by backpropagation and (mini-batch) gradient descent.

    Loss: ``"sse"`` is the tutorial's sum of squared errors over the batch (its gradient
    grows with batch size, so the learning rate must shrink as batches grow); ``"mse"``
    is the mean over samples and outputs, which keeps one learning rate valid for any
    batch size and is the better choice for mini-batch regression.
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
        self.loss_name = _check_loss(loss)
        self.seed = int(seed)
        # Independent streams, so changing the batch schedule never changes the init.
        init_seq, shuffle_seq = np.random.SeedSequence(self.seed).spawn(2)
        init_rng = np.random.default_rng(init_seq)
        self._shuffle_rng = np.random.default_rng(shuffle_seq)
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

    # ------------------------------------------------------------------ shape helpers

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

    # ------------------------------------------------------------------ forward / loss

    def predict(self, X: ArrayLike) -> FloatArray:
        """Predicted targets in raw units, shape (n_samples, n_outputs)."""
        x = self._check_inputs(X, "X")
        out = self._forward(self._scale_inputs(x))
        if self.target_scaler is not None:
            out = self.target_scaler.inverse_transform(out)
        return out

    def loss(self, X: ArrayLike, y: ArrayLike) -> float:
        """Training loss (``self.loss_name``) on X, y, in the model's scaled target units."""
        x, t = self._prepare(X, y)
        return self._loss_value(self._forward(x), t)

    def gradients(self, X: ArrayLike, y: ArrayLike) -> Gradients:
        """Gradients of ``loss(X, y)`` w.r.t. every weight and bias, without updating them."""
        x, t = self._prepare(X, y)
        return self._backprop(x, t)

    def _forward(self, x: FloatArray) -> FloatArray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def _loss_value(self, out: FloatArray, t: FloatArray) -> float:
        sse = float(np.sum((out - t) ** 2))
        return sse if self.loss_name == "sse" else sse / out.size

    def _backprop(self, x: FloatArray, t: FloatArray) -> Gradients:
        """Forward pass keeping z and a per layer, then the chain rule from output to input."""
        zs: list[FloatArray] = []
        acts: list[FloatArray] = [x]  # acts[l] is the input of layer l
        for layer in self.layers:
            z = layer.pre_activation(acts[-1])
            zs.append(z)
            acts.append(layer.activation.forward(z))
        out = acts[-1]
        loss = self._loss_value(out, t)

        # dL/d(out) for L = sum (out - t)^2, divided by the element count for the mean.
        d_act = 2.0 * (out - t)
        if self.loss_name == "mse":
            d_act = d_act / out.size
        grad_w: list[FloatArray] = [np.empty(0)] * len(self.layers)
        grad_b: list[FloatArray] = [np.empty(0)] * len(self.layers)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            delta = d_act * layer.activation.derivative(zs[i])  # dL/dz_i
            grad_w[i] = acts[i].T @ delta  # dL/dW_i: z_i = a_{i-1} W_i + b_i
            grad_b[i] = delta.sum(axis=0)  # dL/db_i
            d_act = delta @ layer.weights.T  # dL/da_{i-1}, for the layer below
        return Gradients(grad_w, grad_b, loss)

    # ------------------------------------------------------------------ training

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        epochs: int,
        learning_rate: float,
        batch_size: int | None = None,
        normalize_inputs: bool = True,
        scale_targets: bool = False,
        validation: tuple[ArrayLike, ArrayLike] | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        optimizer: str = "sgd",
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> TrainingResult:
        """Train by gradient descent; ``batch_size=None`` means full batch.

        ``optimizer``: ``"sgd"`` is plain gradient descent, ``w -= learning_rate * g`` (the
        tutorial's rule); ``"momentum"`` adds heavy-ball momentum (a velocity
        ``v = momentum * v + g``, ``w -= learning_rate * v``); ``"adam"`` scales each
        step by running estimates of the gradient's first and second moments (Kingma and
        Ba, 2015), which converges in far fewer epochs on badly scaled problems. All three
        use the same backpropagated gradients.

        Normalisation is fitted here on X (and y if ``scale_targets``; only sensible with
        an identity output) and stored with the model. One ``loss_history`` entry per
        epoch: the loss on the whole training set after that epoch's updates. With
        ``validation`` and ``patience`` set, training stops once the validation loss has
        not improved by ``min_delta`` for ``patience`` epochs, and the best weights are
        restored. If the loss becomes non-finite, the weights are restored to what they
        were before the call (scalers and histories too) and FloatingPointError is raised.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ValueError(f"patience must be a positive integer or None, got {patience!r}")
        if patience is not None and validation is None:
            raise ValueError("patience (early stopping) needs a validation set")
        if optimizer not in ("sgd", "momentum", "adam"):
            raise ValueError(f"optimizer must be sgd, momentum or adam, got {optimizer!r}")

        x_raw = self._check_inputs(X, "X")
        t_raw = self._check_targets(y, x_raw.shape[0], "y")
        if validation is not None:
            xv_raw = self._check_inputs(validation[0], "validation X")
            tv_raw = self._check_targets(validation[1], xv_raw.shape[0], "validation y")

        saved = self._snapshot()
        saved_scalers = (self.input_scaler, self.target_scaler)
        saved_histories = (self.loss_history, self.val_loss_history)
        self.input_scaler = Standardizer.fit(x_raw) if normalize_inputs else None
        self.target_scaler = Standardizer.fit(t_raw) if scale_targets else None
        x, t = self._scale_inputs(x_raw), self._scale_targets(t_raw)
        if validation is not None:
            xv, tv = self._scale_inputs(xv_raw), self._scale_targets(tv_raw)

        n = x.shape[0]
        step = n if batch_size is None else min(batch_size, n)
        result = TrainingResult(epochs_run=0, final_loss=float("nan"))
        best_val = math.inf
        best_params = self._snapshot()
        stale_epochs = 0
        self.loss_history = []
        self.val_loss_history = []

        # Optimizer state: one (weights, biases) pair of arrays per layer and moment.
        m1 = [(np.zeros_like(ly.weights), np.zeros_like(ly.biases)) for ly in self.layers]
        m2 = [(np.zeros_like(ly.weights), np.zeros_like(ly.biases)) for ly in self.layers]
        b1, b2 = betas
        updates = 0
        for epoch in range(1, epochs + 1):
            order = self._shuffle_rng.permutation(n) if step < n else np.arange(n)
            for start in range(0, n, step):
                idx = order[start : start + step]
                grads = self._backprop(x[idx], t[idx])
                updates += 1
                for i, (layer, gw, gb) in enumerate(
                    zip(self.layers, grads.weights, grads.biases, strict=True)
                ):
                    if optimizer == "sgd":
                        layer.weights -= learning_rate * gw
                        layer.biases -= learning_rate * gb
                    elif optimizer == "momentum":
                        vw, vb = m1[i]
                        vw *= momentum
                        vw += gw
                        vb *= momentum
                        vb += gb
                        layer.weights -= learning_rate * vw
                        layer.biases -= learning_rate * vb
                    else:  # adam
                        for param, g, m, v in (
                            (layer.weights, gw, m1[i][0], m2[i][0]),
                            (layer.biases, gb, m1[i][1], m2[i][1]),
                        ):
                            m *= b1
                            m += (1 - b1) * g
                            v *= b2
                            v += (1 - b2) * g * g
                            m_hat = m / (1 - b1**updates)
                            v_hat = v / (1 - b2**updates)
                            param -= learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
            train_loss = self._loss_value(self._forward(x), t)
            if not math.isfinite(train_loss):
                self._restore(saved)
                self.input_scaler, self.target_scaler = saved_scalers
                self.loss_history, self.val_loss_history = saved_histories
                raise FloatingPointError(
                    f"training diverged at epoch {epoch} (loss {train_loss}); "
                    f"lower the learning rate (was {learning_rate})"
                )
            self.loss_history.append(train_loss)
            result.epochs_run = epoch

            if validation is not None:
                val_loss = self._loss_value(self._forward(xv), tv)
                self.val_loss_history.append(val_loss)
                if val_loss < best_val - min_delta:
                    best_val, best_params, stale_epochs = val_loss, self._snapshot(), 0
                else:
                    stale_epochs += 1
                if patience is not None and stale_epochs >= patience:
                    result.stopped_early = True
                    break

        if patience is not None:
            self._restore(best_params)
        result.final_loss = self.loss_history[-1]
        result.best_val_loss = best_val if validation is not None else None
        result.loss_history = list(self.loss_history)
        result.val_loss_history = list(self.val_loss_history)
        self.metadata["training"] = {
            "loss": self.loss_name,
            "epochs_run": result.epochs_run,
            "learning_rate": float(learning_rate),
            "optimizer": optimizer,
            "batch_size": batch_size,
            "n_samples": int(n),
            "final_loss": result.final_loss,
            "best_val_loss": result.best_val_loss,
            "stopped_early": result.stopped_early,
        }
        return result

    def _snapshot(self) -> list[tuple[FloatArray, FloatArray]]:
        return [(layer.weights.copy(), layer.biases.copy()) for layer in self.layers]

    def _restore(self, params: list[tuple[FloatArray, FloatArray]]) -> None:
        for layer, (w, b) in zip(self.layers, params, strict=True):
            layer.weights, layer.biases = w.copy(), b.copy()

    # ------------------------------------------------------------------ validation

    def _check_inputs(self, X: ArrayLike, what: str) -> FloatArray:
        x = _as_float_array(X, what)
        if x.ndim != 2:
            raise ValueError(
                f"{what} must be 2-D (n_samples, {self.n_inputs}), got shape {x.shape}; "
                "use reshape(1, -1) for a single sample"
            )
        if x.shape[1] != self.n_inputs:
            raise ValueError(f"{what} has {x.shape[1]} columns, model expects {self.n_inputs}")
        if x.shape[0] == 0:
            raise ValueError(f"{what} has no rows")
        _check_finite(x, what)
        return x

    def _check_targets(self, y: ArrayLike, n_samples: int, what: str) -> FloatArray:
        t = _as_float_array(y, what)
        if t.ndim == 1 and self.n_outputs == 1:
            t = t.reshape(-1, 1)
        if t.ndim != 2 or t.shape[1] != self.n_outputs:
            raise ValueError(f"{what} must have shape (n_samples, {self.n_outputs}), got {t.shape}")
        if t.shape[0] != n_samples:
            raise ValueError(f"{what} has {t.shape[0]} rows but the inputs have {n_samples}")
        _check_finite(t, what)
        return t

    def _prepare(self, X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        x = self._check_inputs(X, "X")
        t = self._check_targets(y, x.shape[0], "y")
        return self._scale_inputs(x), self._scale_targets(t)

    def _scale_inputs(self, x: FloatArray) -> FloatArray:
        return x if self.input_scaler is None else self.input_scaler.transform(x)

    def _scale_targets(self, t: FloatArray) -> FloatArray:
        return t if self.target_scaler is None else self.target_scaler.transform(t)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a pickle-free .npz file (atomically: temp file + rename)."""
        header = {"seed": self.seed, "feature_names": self.feature_names, "metadata": self.metadata}
        try:
            header_json = json.dumps(header)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model metadata must be JSON-serialisable: {exc}") from exc
        arrays: dict[str, FloatArray | npt.NDArray[Any]] = {
            "format_version": np.array(FORMAT_VERSION),
            "layer_sizes": np.array(self.layer_sizes, dtype=np.int64),
            "activations": np.array(self.activation_names, dtype=np.str_),
            "loss": np.array(self.loss_name, dtype=np.str_),
            "loss_history": np.array(self.loss_history, dtype=np.float64),
            "val_loss_history": np.array(self.val_loss_history, dtype=np.float64),
            "metadata": np.array(header_json, dtype=np.str_),
        }
        for i, layer in enumerate(self.layers):
            arrays[f"W{i}"] = layer.weights
            arrays[f"b{i}"] = layer.biases
        for prefix, scaler in (("input", self.input_scaler), ("target", self.target_scaler)):
            if scaler is not None:
                arrays[f"{prefix}_mean"] = scaler.mean
                arrays[f"{prefix}_std"] = scaler.std

        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, allow_pickle=False, **arrays)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        expected_feature_names: Sequence[str] | None = None,
    ) -> NeuralNetwork:
        """Read a model written by ``save``; ValueError if the file is corrupt or inconsistent.

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
    def _from_arrays(cls, data: dict[str, npt.NDArray[Any]]) -> NeuralNetwork:
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


MLP = NeuralNetwork  # the same class under the name used in some of the design notes


# --------------------------------------------------------------------------- helpers


def _check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of: {', '.join(LOSSES)}")
    return loss


def _as_float_array(values: ArrayLike, what: str) -> FloatArray:
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from exc


def _check_finite(values: FloatArray, what: str) -> None:
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
