"""Training the link-cost network: the half of the tutorial the controller never runs.

The classic "neural network from scratch" recipe, on top of the run-time network in
``controller/linkcost/nn.py``: a forward pass, a sum-of-squares loss, backpropagation
written out by the chain rule, and gradient descent with a learning rate. On top of
that: a mean-squared loss, momentum and Adam, mini-batches, input/target
standardisation fitted here and stored with the model, early stopping on a validation
set, and ``save`` to the ``.npz`` format that ``NeuralNetwork.load`` reads.

    net = TrainableNetwork([3, 4, 1], ["sigmoid", "sigmoid"], seed=0)
    net.fit(X, y, epochs=1500, learning_rate=0.5, normalize_inputs=False)
    net.save("model.npz")  # the controller: NeuralNetwork.load("model.npz").predict(X)
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from controller.linkcost.nn import (
    FORMAT_VERSION,
    Activation,
    ArrayLike,
    Dense,
    FloatArray,
    NeuralNetwork,
    Standardizer,
    as_float_array,
    check_finite,
    get_activation,
)

# --------------------------------------------------------------------------- derivatives
# Each f' is written with the layer's output a = f(z), which the forward pass keeps, so
# backpropagation never evaluates f again; the values are those of f'(z) (see the test).


def sigmoid_derivative(a: FloatArray, out: FloatArray) -> FloatArray:
    """d sigmoid / dz = s (1 - s) for s = sigmoid(z), into ``out``."""
    np.subtract(1.0, a, out=out)
    return np.multiply(a, out, out=out)


def relu_derivative(a: FloatArray, out: FloatArray) -> FloatArray:
    """1 where z > 0 (exactly where relu(z) > 0), else 0 (the subgradient 0 at z == 0)."""
    return np.greater(a, 0.0, out=out)


def tanh_derivative(a: FloatArray, out: FloatArray) -> FloatArray:
    """d tanh / dz = 1 - tanh(z)^2, into ``out``."""
    np.multiply(a, a, out=out)
    return np.subtract(1.0, out, out=out)


def identity_derivative(a: FloatArray, out: FloatArray) -> FloatArray:
    """d z / dz = 1 (backpropagation skips the multiplication by it)."""
    out.fill(1.0)
    return out


DERIVATIVES: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "sigmoid": sigmoid_derivative,
    "relu": relu_derivative,
    "tanh": tanh_derivative,
    "identity": identity_derivative,
}


def activation_derivative(name: str) -> Callable[[FloatArray], FloatArray]:
    """d f / dz as a function of z, for the activation ``name`` (aliases such as "linear"
    accepted)."""
    activation = get_activation(name)
    of_output = DERIVATIVES[activation.name]

    def derivative(z: FloatArray) -> FloatArray:
        return of_output(activation.forward(z), np.empty(np.shape(z)))

    return derivative


# --------------------------------------------------------------------------- scaling


def fit_standardizer(data: FloatArray) -> Standardizer:
    """Column means and standard deviations of a 2-D array; zero-std columns get std 1."""
    mean = data.mean(axis=0)
    std = data.std(axis=0)
    # A constant column carries no information; leave it centred instead of dividing by 0.
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return Standardizer(mean.astype(np.float64), std.astype(np.float64))


# --------------------------------------------------------------------------- loss


def sum_of_squares(out: FloatArray, t: FloatArray) -> float:
    """The tutorial's loss: sum of squared errors over the batch."""
    return float(np.sum((out - t) ** 2))


def mean_squared(out: FloatArray, t: FloatArray) -> float:
    """Sum of squares over the element count: one learning rate fits any batch size."""
    return sum_of_squares(out, t) / out.size


LOSS_FUNCTIONS: dict[str, Callable[[FloatArray, FloatArray], float]] = {
    "sse": sum_of_squares,
    "mse": mean_squared,
}


def loss_gradient(
    loss_name: str, out: FloatArray, t: FloatArray, into: FloatArray | None = None
) -> FloatArray:
    """dL/d(out) for L = sum (out - t)^2, divided by the element count for the mean;
    written into ``into`` when given."""
    d_out = np.subtract(out, t, out=into)
    d_out *= 2.0
    if loss_name == "mse":
        d_out /= d_out.size
    return d_out


# --------------------------------------------------------------------------- backprop


@dataclass(frozen=True)
class Gradients:
    """dLoss/dW and dLoss/db for every layer (same order and shapes as the layers)."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    loss: float

    def flat(self) -> list[FloatArray]:
        """[dW0, db0, dW1, db1, ...], the order of ``parameters(net)``."""
        return [g for pair in zip(self.weights, self.biases, strict=True) for g in pair]


def parameters(net: NeuralNetwork) -> list[FloatArray]:
    """[W0, b0, W1, b1, ...]: the network's own arrays, which optimisers update in place."""
    return [p for layer in net.layers for p in (layer.weights, layer.biases)]


def _activate_in_place(activation: Activation, z: FloatArray) -> None:
    """z = f(z), overwriting z (the same values as ``activation.forward``)."""
    if activation.name == "tanh":
        np.tanh(z, out=z)
    elif activation.name == "relu":
        np.maximum(z, 0.0, out=z)
    elif activation.name != "identity":
        z[...] = activation.forward(z)


def _times_derivative(name: str, d_act: FloatArray, act: FloatArray, scratch: FloatArray) -> None:
    """d_act *= f'(z) in place, for the layer's output act = f(z)."""
    if name != "identity":  # f' = 1
        d_act *= DERIVATIVES[name](act, scratch)


class Passes:
    """The forward and backward pass over batches of ``rows`` samples, written into arrays
    allocated once: every layer's output a, dL/da and a scratch array.

    Training runs these thousands of times; fresh arrays on every call cost more than the
    arithmetic for a network this small (and page faults for the whole training set).
    """

    def __init__(self, net: NeuralNetwork, rows: int):
        self.rows = rows
        self._widths = [layer.n_outputs for layer in net.layers]
        self.acts = [np.empty((rows, w)) for w in self._widths]  # acts[i]: output of layer i
        self._d_acts: list[FloatArray] = []  # dL/da_i, allocated by the first backward
        self._scratch: list[FloatArray] = []

    def forward(self, layers: Sequence[Dense], x: FloatArray) -> FloatArray:
        """a_i = f(a_{i-1} W_i + b_i) layer by layer; the output layer's a (kept here)."""
        a = x
        for layer, out in zip(layers, self.acts, strict=True):
            np.matmul(a, layer.weights, out=out)
            out += layer.biases
            _activate_in_place(layer.activation, out)
            a = out
        return a

    def backward(
        self,
        layers: Sequence[Dense],
        x: FloatArray,
        t: FloatArray,
        loss_name: str,
        grad_w: Sequence[FloatArray],
        grad_b: Sequence[FloatArray],
    ) -> None:
        """After ``forward(layers, x)``: dL/dW_i and dL/db_i into grad_w[i], grad_b[i].

        From the output back to the input, by the chain rule: dL/dz = dL/da * f'(z);
        dL/dW = a_below^T dL/dz; dL/db = sum over samples of dL/dz; dL/da_below = dL/dz W^T.
        """
        if not self._d_acts:
            self._d_acts = [np.empty((self.rows, w)) for w in self._widths]
            self._scratch = [np.empty((self.rows, w)) for w in self._widths]
        loss_gradient(loss_name, self.acts[-1], t, into=self._d_acts[-1])
        for i in range(len(layers) - 1, -1, -1):
            d = self._d_acts[i]
            _times_derivative(layers[i].activation.name, d, self.acts[i], self._scratch[i])
            below = x if i == 0 else self.acts[i - 1]  # z_i = a_{i-1} W_i + b_i
            np.matmul(below.T, d, out=grad_w[i])
            np.add.reduce(d, axis=0, out=grad_b[i])  # np.sum without its wrappers
            if i > 0:  # the input layer's dL/dx is not needed
                np.matmul(d, layers[i].weights.T, out=self._d_acts[i - 1])


def backpropagate(net: NeuralNetwork, x: FloatArray, t: FloatArray) -> Gradients:
    """Gradients of the loss on scaled inputs x and targets t, by the chain rule
    (``Passes.backward``, the code ``fit`` runs)."""
    passes = Passes(net, x.shape[0])
    loss = LOSS_FUNCTIONS[net.loss_name](passes.forward(net.layers, x), t)
    grad_w = [np.empty_like(layer.weights) for layer in net.layers]
    grad_b = [np.empty_like(layer.biases) for layer in net.layers]
    passes.backward(net.layers, x, t, net.loss_name, grad_w, grad_b)
    return Gradients(grad_w, grad_b, loss)


class ParameterVector:
    """Every weight and bias of a network in one vector, the layers' arrays being views
    of it, and a gradient vector of the same layout: an optimiser then updates the whole
    network with one call per operation rather than one per array."""

    def __init__(self, net: NeuralNetwork):
        self._layers = net.layers
        self.values: FloatArray = np.concatenate([p.ravel() for p in parameters(net)])
        self.grads: FloatArray = np.zeros_like(self.values)
        self.grad_w: list[FloatArray] = []
        self.grad_b: list[FloatArray] = []
        offset = 0
        for layer in self._layers:
            w_shape, b_size = layer.weights.shape, layer.biases.size
            end = offset + layer.weights.size
            layer.weights = self.values[offset:end].reshape(w_shape)
            self.grad_w.append(self.grads[offset:end].reshape(w_shape))
            layer.biases = self.values[end : end + b_size]
            self.grad_b.append(self.grads[end : end + b_size])
            offset = end + b_size

    def detach(self) -> None:
        """Give the layers arrays of their own again (after training)."""
        for layer in self._layers:
            layer.weights, layer.biases = layer.weights.copy(), layer.biases.copy()


# --------------------------------------------------------------------------- optimisers


class Optimizer(Protocol):
    """Updates parameters in place from their gradients, one mini-batch at a time."""

    name: str

    def step(self, params: list[FloatArray], grads: list[FloatArray]) -> None: ...


class GradientDescent:
    """The tutorial's rule: ``w -= learning_rate * dL/dw``."""

    name = "sgd"

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def step(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        for param, g in zip(params, grads, strict=True):
            param -= self.learning_rate * g


class Momentum:
    """Heavy-ball momentum: velocity ``v = momentum * v + g``, then ``w -= learning_rate * v``."""

    name = "momentum"

    def __init__(self, learning_rate: float, momentum: float = 0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self._velocity: list[FloatArray] = []

    def step(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        if not self._velocity:
            self._velocity = [np.zeros_like(p) for p in params]
        for param, g, v in zip(params, grads, self._velocity, strict=True):
            v *= self.momentum
            v += g
            param -= self.learning_rate * v


class Adam:
    """Steps scaled by running estimates of the gradient's first and second moments.

    Kingma and Ba, 2015: converges in far fewer epochs on badly scaled problems.
    """

    name = "adam"

    def __init__(
        self, learning_rate: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ):
        self.learning_rate = learning_rate
        self.beta1, self.beta2 = betas
        self.eps = eps
        self._steps = 0
        self._m: list[FloatArray] = []  # first moment (mean) per parameter
        self._v: list[FloatArray] = []  # second moment (uncentred variance)

    def step(self, params: list[FloatArray], grads: list[FloatArray]) -> None:
        if not self._m:
            self._m = [np.zeros_like(p) for p in params]
            self._v = [np.zeros_like(p) for p in params]
        self._steps += 1
        b1, b2 = self.beta1, self.beta2
        for param, g, m, v in zip(params, grads, self._m, self._v, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self._steps)  # bias correction of the zero start
            v_hat = v / (1 - b2**self._steps)
            param -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(
    name: str,
    learning_rate: float,
    *,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
) -> Optimizer:
    """The optimiser called ``name`` ("sgd", "momentum" or "adam")."""
    if name == "sgd":
        return GradientDescent(learning_rate)
    if name == "momentum":
        return Momentum(learning_rate, momentum)
    if name == "adam":
        return Adam(learning_rate, betas)
    raise ValueError(f"optimizer must be sgd, momentum or adam, got {name!r}")


# --------------------------------------------------------------------------- training


@dataclass
class TrainingResult:
    """What one call to ``fit`` did."""

    epochs_run: int
    final_loss: float
    best_val_loss: float | None = None
    stopped_early: bool = False
    loss_history: list[float] = field(default_factory=list)
    val_loss_history: list[float] = field(default_factory=list)


class TrainableNetwork(NeuralNetwork):
    """A ``NeuralNetwork`` that can also compute its loss and gradients, fit and save.

    ``TrainableNetwork.load`` reads a model file for further training; the controller
    reads the same file with ``NeuralNetwork.load``.
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
        super().__init__(
            layer_sizes, activations, seed=seed, loss=loss, feature_names=feature_names
        )
        # Stream 1 of the seed (stream 0 initialised the weights).
        self._shuffle_rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(2)[1])

    def loss(self, X: ArrayLike, y: ArrayLike) -> float:
        """Training loss (``self.loss_name``) on X, y, in the model's scaled target units."""
        x, t = self._prepare(X, y)
        return LOSS_FUNCTIONS[self.loss_name](self._forward(x), t)

    def gradients(self, X: ArrayLike, y: ArrayLike) -> Gradients:
        """Gradients of ``loss(X, y)`` w.r.t. every weight and bias, without updating them."""
        x, t = self._prepare(X, y)
        return backpropagate(self, x, t)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model for ``NeuralNetwork.load`` (see ``save_network``)."""
        save_network(self, path)

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

        ``optimizer``: ``"sgd"`` (``GradientDescent``, the tutorial's rule),
        ``"momentum"`` or ``"adam"``; all three use the same backpropagated gradients.

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
        opt = make_optimizer(optimizer, learning_rate, momentum=momentum, betas=betas)

        x_raw = self._check_inputs(X, "X")
        t_raw = self._check_targets(y, x_raw.shape[0], "y")
        if validation is not None:
            xv_raw = self._check_inputs(validation[0], "validation X")
            tv_raw = self._check_targets(validation[1], xv_raw.shape[0], "validation y")

        saved = self._snapshot()
        saved_scalers = (self.input_scaler, self.target_scaler)
        saved_histories = (self.loss_history, self.val_loss_history)
        self.input_scaler = fit_standardizer(x_raw) if normalize_inputs else None
        self.target_scaler = fit_standardizer(t_raw) if scale_targets else None
        x, t = self._scale_inputs(x_raw), self._scale_targets(t_raw)
        if validation is not None:
            xv, tv = self._scale_inputs(xv_raw), self._scale_targets(tv_raw)

        loss_fn = LOSS_FUNCTIONS[self.loss_name]
        n = x.shape[0]
        step = n if batch_size is None else min(batch_size, n)
        result = TrainingResult(epochs_run=0, final_loss=float("nan"))
        best_val = math.inf
        stale_epochs = 0
        self.loss_history = []
        self.val_loss_history = []
        params = ParameterVector(self)
        best_params = params.values.copy()
        passes: dict[int, Passes] = {}  # by batch size: the mini-batches, the last, x, xv

        def passes_for(rows: int) -> Passes:
            if rows not in passes:
                passes[rows] = Passes(self, rows)
            return passes[rows]

        # Each epoch's shuffled copy of the training set, sliced into the mini-batches.
        x_order, t_order = (np.empty(x.shape), np.empty(t.shape)) if step < n else (x, t)
        for epoch in range(1, epochs + 1):
            if step < n:
                order = self._shuffle_rng.permutation(n)
                np.take(x, order, axis=0, out=x_order)
                np.take(t, order, axis=0, out=t_order)
            for start in range(0, n, step):
                xb, tb = x_order[start : start + step], t_order[start : start + step]
                batch = passes_for(xb.shape[0])
                batch.forward(self.layers, xb)
                batch.backward(self.layers, xb, tb, self.loss_name, params.grad_w, params.grad_b)
                opt.step([params.values], [params.grads])
            train_loss = loss_fn(passes_for(n).forward(self.layers, x), t)
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
                val_loss = loss_fn(passes_for(xv.shape[0]).forward(self.layers, xv), tv)
                self.val_loss_history.append(val_loss)
                if val_loss < best_val - min_delta:
                    best_val, stale_epochs = val_loss, 0
                    best_params[...] = params.values
                else:
                    stale_epochs += 1
                if patience is not None and stale_epochs >= patience:
                    result.stopped_early = True
                    break

        if patience is not None:
            params.values[...] = best_params
        params.detach()
        result.final_loss = self.loss_history[-1]
        result.best_val_loss = best_val if validation is not None else None
        result.loss_history = list(self.loss_history)
        result.val_loss_history = list(self.val_loss_history)
        self.metadata["training"] = {
            "loss": self.loss_name,
            "epochs_run": result.epochs_run,
            "learning_rate": float(learning_rate),
            "optimizer": opt.name,
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

    def _check_targets(self, y: ArrayLike, n_samples: int, what: str) -> FloatArray:
        t = as_float_array(y, what)
        if t.ndim == 1 and self.n_outputs == 1:
            t = t.reshape(-1, 1)
        if t.ndim != 2 or t.shape[1] != self.n_outputs:
            raise ValueError(f"{what} must have shape (n_samples, {self.n_outputs}), got {t.shape}")
        if t.shape[0] != n_samples:
            raise ValueError(f"{what} has {t.shape[0]} rows but the inputs have {n_samples}")
        check_finite(t, what)
        return t

    def _prepare(self, X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        x = self._check_inputs(X, "X")
        t = self._check_targets(y, x.shape[0], "y")
        return self._scale_inputs(x), self._scale_targets(t)

    def _scale_targets(self, t: FloatArray) -> FloatArray:
        return t if self.target_scaler is None else self.target_scaler.transform(t)


# --------------------------------------------------------------------------- saving


def save_network(net: NeuralNetwork, path: str | os.PathLike[str]) -> None:
    """Write ``net`` in the format ``NeuralNetwork.load`` reads (see controller/linkcost/nn.py).

    Pickle-free ``.npz``, written atomically (temp file + rename) to exactly ``path``.
    """
    header = {"seed": net.seed, "feature_names": net.feature_names, "metadata": net.metadata}
    try:
        header_json = json.dumps(header)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model metadata must be JSON-serialisable: {exc}") from exc
    arrays: dict[str, npt.NDArray[Any]] = {
        "format_version": np.array(FORMAT_VERSION),
        "layer_sizes": np.array(net.layer_sizes, dtype=np.int64),
        "activations": np.array(net.activation_names, dtype=np.str_),
        "loss": np.array(net.loss_name, dtype=np.str_),
        "loss_history": np.array(net.loss_history, dtype=np.float64),
        "val_loss_history": np.array(net.val_loss_history, dtype=np.float64),
        "metadata": np.array(header_json, dtype=np.str_),
    }
    for i, layer in enumerate(net.layers):
        arrays[f"W{i}"] = layer.weights
        arrays[f"b{i}"] = layer.biases
    for prefix, scaler in (("input", net.input_scaler), ("target", net.target_scaler)):
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
