"""Tests for the NumPy network: run time (controller.linkcost.nn) and training
(training.nn_training), and that what training saves the controller loads."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from controller.linkcost.nn import (
    ACTIVATIONS,
    Dense,
    NeuralNetwork,
    get_activation,
    sigmoid,
)
from training.nn_training import (
    Adam,
    GradientDescent,
    Momentum,
    TrainableNetwork,
    activation_derivative,
    fit_standardizer,
    save_network,
)

# The data of the classic "neural network from scratch" tutorial (output = x1 XOR x2).
TUTORIAL_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
TUTORIAL_Y = np.array([0, 1, 1, 0], dtype=np.float64)


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), the usual figure for a gradient check."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def _numerical_gradients(
    model: TrainableNetwork, X: np.ndarray, y: np.ndarray, eps: float = 1e-6
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Central differences of model.loss with respect to every weight and bias."""
    grads_w: list[np.ndarray] = []
    grads_b: list[np.ndarray] = []
    for layer in model.layers:
        for param, out in ((layer.weights, grads_w), (layer.biases, grads_b)):
            grad = np.zeros_like(param)
            for idx in np.ndindex(param.shape):
                original = param[idx]
                param[idx] = original + eps
                up = model.loss(X, y)
                param[idx] = original - eps
                down = model.loss(X, y)
                param[idx] = original
                grad[idx] = (up - down) / (2 * eps)
            out.append(grad)
    return grads_w, grads_b


def _min_abs_pre_activation(model: NeuralNetwork, X: np.ndarray) -> float:
    """Smallest |z| over all layers (for model without input scaling)."""
    smallest = np.inf
    a = X
    for layer in model.layers:
        z = layer.pre_activation(a)
        smallest = min(smallest, float(np.min(np.abs(z))))
        a = layer.activation.forward(z)
    return smallest


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return 1.0 - ss_res / ss_tot


# --------------------------------------------------------------------------- activations


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_central_difference(name: str) -> None:
    act = get_activation(name)
    z = np.random.default_rng(1).uniform(-4, 4, size=200)
    z = z[np.abs(z) > 1e-3]  # keep relu away from its kink
    eps = 1e-6
    numeric = (act.forward(z + eps) - act.forward(z - eps)) / (2 * eps)
    assert _relative_error(activation_derivative(name)(z), numeric) < 1e-8


def test_sigmoid_is_stable_for_extreme_inputs() -> None:
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = sigmoid(z)
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    np.testing.assert_allclose(s[1] + s[3], 1.0)


def test_linear_is_an_alias_of_identity_and_unknown_names_are_rejected() -> None:
    assert get_activation("linear") is ACTIVATIONS["identity"]
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        get_activation("softmax")


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("name", ["sigmoid", "relu", "tanh", "identity"])
def test_backprop_matches_numerical_gradient(name: str, loss: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.uniform(-1.5, 1.5, size=(6, 3))
    y = rng.uniform(-1.0, 1.0, size=(6, 2)) if name != "sigmoid" else rng.uniform(size=(6, 2))
    model = TrainableNetwork([3, 5, 4, 2], [name, name, name], seed=3, loss=loss)
    for layer in model.layers:  # non-zero biases so their gradients are exercised
        layer.biases[:] = rng.normal(0.0, 0.3, size=layer.biases.shape)
    if name == "relu":
        assert _min_abs_pre_activation(model, X) > 1e-3, "test data sits on the relu kink"

    before = [(layer.weights.copy(), layer.biases.copy()) for layer in model.layers]
    analytic = model.gradients(X, y)
    numeric_w, numeric_b = _numerical_gradients(model, X, y)

    for i, layer in enumerate(model.layers):  # gradients() must not update anything
        assert np.array_equal(layer.weights, before[i][0])
        assert np.array_equal(layer.biases, before[i][1])
    for got, want in zip(analytic.weights, numeric_w, strict=True):
        assert got.shape == want.shape and got.dtype == np.float64
        assert _relative_error(got, want) < 1e-6
    for got, want in zip(analytic.biases, numeric_b, strict=True):
        assert _relative_error(got, want) < 1e-6
    assert analytic.loss == pytest.approx(model.loss(X, y))


def test_gradients_account_for_stored_scaling() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(5.0, 3.0, size=(20, 2))
    y = X[:, :1] * 10.0 + 100.0
    model = TrainableNetwork([2, 4, 1], ["tanh", "identity"], seed=2, loss="mse")
    model.fit(X, y, epochs=2, learning_rate=0.01, scale_targets=True)
    assert model.input_scaler is not None and model.target_scaler is not None

    analytic = model.gradients(X[:5], y[:5])
    numeric_w, numeric_b = _numerical_gradients(model, X[:5], y[:5])
    for got, want in zip(analytic.weights + analytic.biases, numeric_w + numeric_b, strict=True):
        assert _relative_error(got, want) < 1e-6


# --------------------------------------------------------------------------- tutorial


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tutorial_two_layer_sigmoid_network_learns_xor(seed: int) -> None:
    model = TrainableNetwork([3, 4, 1], ["sigmoid", "sigmoid"], seed=seed, loss="sse")
    initial_loss = model.loss(TUTORIAL_X, TUTORIAL_Y)

    result = model.fit(
        TUTORIAL_X, TUTORIAL_Y, epochs=1500, learning_rate=0.5, normalize_inputs=False
    )

    assert model.input_scaler is None and model.target_scaler is None
    history = np.array([initial_loss, *model.loss_history])
    assert len(model.loss_history) == result.epochs_run == 1500
    # Full-batch gradient descent with a modest step never makes the loss go up.
    assert np.all(np.diff(history) <= 0.0), f"loss rose at step {np.argmax(np.diff(history))}"
    assert history[-1] < 0.05 < history[0]
    predictions = model.predict(TUTORIAL_X)
    assert predictions.shape == (4, 1)
    np.testing.assert_allclose(predictions.ravel(), TUTORIAL_Y, atol=0.1)


def test_backprop_is_the_tutorials_hand_written_chain_rule() -> None:
    """For the 3-4-1 sigmoid network the gradients are the tutorial's two formulas."""
    model = TrainableNetwork([3, 4, 1], ["sigmoid", "sigmoid"], seed=0, loss="sse")
    w1, w2 = model.layers[0].weights, model.layers[1].weights
    y = TUTORIAL_Y[:, None]
    layer1 = sigmoid(TUTORIAL_X @ w1)  # biases start at zero
    output = sigmoid(layer1 @ w2)
    delta2 = 2 * (output - y) * output * (1 - output)  # dL/dz2 for L = sum (output - y)^2
    delta1 = (delta2 @ w2.T) * layer1 * (1 - layer1)  # dL/dz1
    grads = model.gradients(TUTORIAL_X, TUTORIAL_Y)
    np.testing.assert_allclose(grads.weights[1], layer1.T @ delta2, rtol=1e-12)
    np.testing.assert_allclose(grads.weights[0], TUTORIAL_X.T @ delta1, rtol=1e-12)
    assert grads.loss == pytest.approx(float(np.sum((output - y) ** 2)), rel=1e-12)


# --------------------------------------------------------------------------- regression


def test_learns_smooth_nonlinear_function_with_mini_batches() -> None:
    rng = np.random.default_rng(42)
    X = rng.uniform(-2.0, 2.0, size=(1200, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    X_train, y_train, X_test, y_test = X[:900], y[:900], X[900:], y[900:]

    model = TrainableNetwork(
        [2, 32, 32, 1], ["tanh", "relu", "identity"], seed=0, loss="mse", feature_names=["a", "b"]
    )
    started = time.perf_counter()
    result = model.fit(
        X_train, y_train, epochs=60, learning_rate=0.05, batch_size=32, scale_targets=True
    )
    elapsed = time.perf_counter() - started

    r2 = _r2(y_test, model.predict(X_test).ravel())
    print(f"regression: test R^2 {r2:.4f}, {result.epochs_run} epochs in {elapsed:.2f} s")
    assert r2 > 0.9
    assert elapsed < 2.0
    assert model.loss_history[-1] < model.loss_history[0]
    assert model.metadata["training"]["batch_size"] == 32


def test_early_stopping_restores_best_weights() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = X.sum(axis=1)
    X_val, y_val = X[30:], y[30:]
    model = TrainableNetwork([2, 8, 1], ["tanh", "identity"], seed=1, loss="mse")
    # A min_delta nothing can beat makes epoch 1 the best, so training stops after
    # 1 + patience epochs and must roll back to the epoch-1 weights.
    result = model.fit(
        X[:30],
        y[:30],
        epochs=100,
        learning_rate=0.05,
        batch_size=8,
        validation=(X_val, y_val),
        patience=3,
        min_delta=1e9,
    )
    assert result.stopped_early and result.epochs_run == 4
    assert len(model.val_loss_history) == 4
    assert result.best_val_loss == model.val_loss_history[0]
    assert model.loss(X_val, y_val) == pytest.approx(model.val_loss_history[0], rel=1e-12)


def test_divergence_raises_and_keeps_previous_weights() -> None:
    model = TrainableNetwork([2, 4, 1], ["relu", "identity"], seed=0)
    before = [layer.weights.copy() for layer in model.layers]
    X = np.random.default_rng(0).normal(size=(50, 2)) * 100
    model.loss_history = [1.0, 0.5]
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="diverged"):
        model.fit(X, X.sum(axis=1) * 1e3, epochs=50, learning_rate=1e3, normalize_inputs=False)
    assert model.loss_history == [1.0, 0.5] and model.input_scaler is None
    for layer, w in zip(model.layers, before, strict=True):
        assert np.array_equal(layer.weights, w)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_same_weights_before_and_after_training() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(64, 3)), rng.normal(size=64)

    def trained(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        model = TrainableNetwork([3, 6, 1], ["relu", "identity"], seed=seed, loss="mse")
        initial = [layer.weights.copy() for layer in model.layers]
        model.fit(X, y, epochs=5, learning_rate=0.01, batch_size=10)
        return initial, [layer.weights for layer in model.layers]

    init_a, final_a = trained(9)
    init_b, final_b = trained(9)
    init_c, _ = trained(10)
    assert all(np.array_equal(a, b) for a, b in zip(init_a, init_b, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(final_a, final_b, strict=True))
    assert not np.array_equal(init_a[0], init_c[0])


def test_initialisation_scale_and_dtype() -> None:
    rng = np.random.default_rng(0)
    he = Dense.initialized(400, 300, "relu", rng)
    xavier = Dense.initialized(400, 300, "tanh", rng)
    assert he.weights.dtype == np.float64 and not he.biases.any()
    assert he.weights.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    assert xavier.weights.std() == pytest.approx(np.sqrt(2 / 700), rel=0.05)


def test_standardizer_handles_constant_columns() -> None:
    data = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    scaler = fit_standardizer(data)
    scaled = scaler.transform(data)
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled[:, 1], 0.0)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), data)


# --------------------------------------------------------------------------- save / load


@pytest.fixture
def trained_model() -> TrainableNetwork:
    rng = np.random.default_rng(8)
    X = rng.normal(10.0, 4.0, size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    model = TrainableNetwork(
        [3, 5, 1],
        ["tanh", "linear"],
        seed=4,
        loss="mse",
        feature_names=["util", "delay_ms", "loss_rate"],
    )
    model.fit(X, y, epochs=5, learning_rate=0.01, batch_size=16, scale_targets=True)
    model.metadata["note"] = "unit test"
    return model


def test_save_load_round_trip_gives_identical_predictions(
    trained_model: TrainableNetwork, tmp_path: Path
) -> None:
    path = tmp_path / "model.npz"
    trained_model.save(path)
    loaded = NeuralNetwork.load(path, expected_feature_names=["util", "delay_ms", "loss_rate"])

    X = np.random.default_rng(0).normal(10.0, 4.0, size=(20, 3))
    assert np.array_equal(loaded.predict(X), trained_model.predict(X))
    assert loaded.layer_sizes == [3, 5, 1]
    assert loaded.activation_names == ["tanh", "identity"]
    assert loaded.loss_name == "mse"
    assert loaded.feature_names == ["util", "delay_ms", "loss_rate"]
    assert loaded.loss_history == trained_model.loss_history
    assert loaded.metadata["note"] == "unit test"
    assert loaded.metadata["training"]["epochs_run"] == 5
    assert sorted(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_save_rejects_metadata_that_is_not_json(
    trained_model: TrainableNetwork, tmp_path: Path
) -> None:
    trained_model.metadata["when"] = object()
    with pytest.raises(ValueError, match="JSON-serialisable"):
        trained_model.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_writes_exactly_the_given_path(
    trained_model: TrainableNetwork, tmp_path: Path
) -> None:
    path = tmp_path / "costs.model"  # np.savez would append .npz to a bare name
    trained_model.save(path)
    assert path.exists() and NeuralNetwork.load(path).n_inputs == 3


def _rewrite(src: Path, dst: Path, **changes: object) -> None:
    """Copy a saved model, replacing (value) or dropping (None) some entries."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(dst, **arrays)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"W0": np.zeros((4, 5))}, "W0 has shape"),
        ({"b1": np.zeros(2)}, "b1 has shape"),
        ({"W1": None}, "missing entry 'W1'"),
        ({"W2": np.zeros((1, 1))}, "weight entries"),
        ({"W0": np.full((3, 5), np.nan)}, "NaN"),
        ({"activations": np.array(["tanh", "softmax"])}, "unknown activation"),
        ({"activations": np.array(["tanh"])}, "activations must be 2 strings"),
        ({"layer_sizes": np.array([3, 6, 1])}, "W0 has shape"),
        ({"input_std": np.zeros(3)}, "input_std must be positive"),
        ({"input_std": None}, "needs both mean and std"),
        ({"target_mean": np.zeros(2)}, "target_mean has shape"),
        ({"format_version": np.array(99)}, "format_version"),
        ({"loss": np.array("hinge")}, "unknown loss"),
        ({"metadata": np.array("{not json")}, "invalid model file"),
        ({"metadata": np.array('{"feature_names": 3}')}, "invalid model file"),
    ],
)
def test_load_rejects_mismatched_file(
    trained_model: TrainableNetwork, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    trained_model.save(good)
    _rewrite(good, bad, **changes)
    with pytest.raises(ValueError, match=message):
        NeuralNetwork.load(bad)


def test_load_rejects_corrupt_files(trained_model: TrainableNetwork, tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    trained_model.save(good)

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a model at all")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W0=np.array([{"evil": 1}], dtype=object))

    for path in (truncated, garbage, pickled):
        with pytest.raises(ValueError, match="model file"):
            NeuralNetwork.load(path)
    with pytest.raises(FileNotFoundError):
        NeuralNetwork.load(tmp_path / "missing.npz")


def test_load_rejects_unexpected_feature_names(
    trained_model: TrainableNetwork, tmp_path: Path
) -> None:
    path = tmp_path / "model.npz"
    trained_model.save(path)
    with pytest.raises(ValueError, match="do not match the expected"):
        NeuralNetwork.load(path, expected_feature_names=["util", "delay_ms"])


def test_save_network_writes_a_plain_network_and_load_keeps_the_class(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    net = NeuralNetwork([2, 3, 1], ["relu", "identity"], seed=5)
    save_network(net, path)
    loaded = NeuralNetwork.load(path)
    assert type(loaded) is NeuralNetwork
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    assert np.array_equal(loaded.predict(x), net.predict(x))

    resumed = TrainableNetwork.load(path)  # a saved model can be trained further
    assert isinstance(resumed, TrainableNetwork)
    resumed.fit(x, [1.0, 2.0], epochs=2, learning_rate=0.01)
    assert len(resumed.loss_history) == 2


def test_the_runtime_network_has_no_training_code() -> None:
    for name in ("fit", "loss", "gradients", "save"):
        assert not hasattr(NeuralNetwork, name), name
        assert hasattr(TrainableNetwork, name), name


SHIPPED = Path(__file__).resolve().parents[2] / "controller" / "models" / "linkcost.npz"


def test_shipped_model_predicts_as_its_stored_arrays_say_and_survives_a_resave(
    tmp_path: Path,
) -> None:
    """The run-time load of the shipped model computes exactly the file's forward pass."""
    net = NeuralNetwork.load(SHIPPED)
    with np.load(SHIPPED, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    x = np.random.default_rng(0).uniform(0.0, 1.0, size=(200, net.n_inputs))
    a = (x - arrays["input_mean"]) / arrays["input_std"]
    for i, name in enumerate(arrays["activations"]):
        a = get_activation(str(name)).forward(a @ arrays[f"W{i}"] + arrays[f"b{i}"])
    expected = a * arrays["target_std"] + arrays["target_mean"]
    assert np.array_equal(net.predict(x), expected)

    # Training code reads it too, and what it writes back is the same model, bit for bit.
    resaved = tmp_path / "resaved.npz"
    TrainableNetwork.load(SHIPPED).save(resaved)
    with np.load(resaved, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(arrays)
        for key in arrays:
            assert np.array_equal(npz[key], arrays[key]), key
    assert np.array_equal(NeuralNetwork.load(resaved).predict(x), expected)


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("bad_input", "message"),
    [
        (np.zeros(3), "must be 2-D"),
        (np.zeros((2, 3, 1)), "must be 2-D"),
        (np.zeros((2, 4)), "has 4 columns, model expects 3"),
        (np.zeros((0, 3)), "no rows"),
        (np.array([[0.0, np.nan, 1.0]]), "NaN/inf"),
        (np.array([[0.0, 1.0, 1.0], [np.inf, 0.0, 0.0]]), r"NaN/inf value\(s\), first in row 1"),
        ([["a", "b", "c"]], "must be numeric"),
    ],
)
def test_predict_rejects_bad_input(bad_input: object, message: str) -> None:
    model = NeuralNetwork([3, 4, 1], ["sigmoid", "sigmoid"])
    with pytest.raises(ValueError, match=message):
        model.predict(bad_input)  # type: ignore[arg-type]


def test_predict_accepts_lists_and_returns_float64() -> None:
    model = NeuralNetwork([3, 4, 1], ["sigmoid", "sigmoid"])
    out = model.predict([[0, 1, 1]])
    assert out.shape == (1, 1) and out.dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0, "learning_rate": 0.1}, "epochs"),
        ({"epochs": 1, "learning_rate": -1.0}, "learning_rate"),
        ({"epochs": 1, "learning_rate": 0.1, "batch_size": 0}, "batch_size"),
        ({"epochs": 1, "learning_rate": 0.1, "patience": 2}, "validation set"),
    ],
)
def test_fit_rejects_bad_settings(kwargs: dict[str, object], message: str) -> None:
    model = TrainableNetwork([3, 4, 1], ["sigmoid", "sigmoid"])
    with pytest.raises(ValueError, match=message):
        model.fit(TUTORIAL_X, TUTORIAL_Y, **kwargs)  # type: ignore[arg-type]


def test_fit_rejects_mismatched_targets() -> None:
    model = TrainableNetwork([3, 4, 1], ["sigmoid", "sigmoid"])
    with pytest.raises(ValueError, match="3 rows but the inputs have 4"):
        model.fit(TUTORIAL_X, TUTORIAL_Y[:3], epochs=1, learning_rate=0.1)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 1\)"):
        model.fit(TUTORIAL_X, np.zeros((4, 2)), epochs=1, learning_rate=0.1)


@pytest.mark.parametrize(
    ("sizes", "activations", "message"),
    [
        ([3], [], "layer_sizes"),
        ([3, 0, 1], ["relu", "identity"], "layer_sizes"),
        ([3, 4, 1], ["relu"], "one activation per layer"),
    ],
)
def test_constructor_rejects_bad_architecture(
    sizes: list[int], activations: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        NeuralNetwork(sizes, activations)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_descends_and_is_deterministic(optimizer: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    y = (np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2)[:, None]
    lr = {"sgd": 0.05, "momentum": 0.01, "adam": 0.01}[optimizer]
    runs = []
    for _ in range(2):
        net = TrainableNetwork([3, 16, 1], ["tanh", "identity"], seed=7, loss="mse")
        net.fit(x, y, epochs=60, learning_rate=lr, batch_size=32, optimizer=optimizer)
        runs.append(net)
    hist = runs[0].loss_history
    assert hist[-1] < 0.5 * hist[0]
    assert np.array_equal(runs[0].predict(x), runs[1].predict(x))
    assert runs[0].metadata["training"]["optimizer"] == optimizer


def _textbook_fit(
    model: TrainableNetwork, X: np.ndarray, y: np.ndarray, epochs: int, optimizer: str
) -> None:
    """The plain loop: fresh arrays for every mini-batch of 16, z kept for f'(z), one
    optimiser update per array (mse loss, no scaling, fit's shuffle stream)."""
    rng = np.random.default_rng(np.random.SeedSequence(model.seed).spawn(2)[1])
    params = [p for layer in model.layers for p in (layer.weights, layer.biases)]
    opt = {"sgd": GradientDescent(0.05), "momentum": Momentum(0.01), "adam": Adam(0.01)}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 16):
            idx = order[start : start + 16]
            acts, zs = [X[idx]], []
            for layer in model.layers:
                zs.append(acts[-1] @ layer.weights + layer.biases)
                acts.append(layer.activation.forward(zs[-1]))
            d_act = 2.0 * (acts[-1] - y[idx]) / acts[-1].size
            grads: list[np.ndarray] = []
            for i in range(len(model.layers) - 1, -1, -1):
                layer = model.layers[i]
                delta = d_act * activation_derivative(layer.activation.name)(zs[i])
                grads = [acts[i].T @ delta, delta.sum(axis=0), *grads]
                d_act = delta @ layer.weights.T
            opt[optimizer].step(params, grads)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_fit_computes_what_the_textbook_loop_computes(optimizer: str, activation: str) -> None:
    """fit's preallocated passes and single parameter vector change no number."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(70, 3)), rng.normal(size=(70, 2))
    layers = [3, 6, 5, 2]
    acts = [activation, activation, "identity"]
    fitted = TrainableNetwork(layers, acts, seed=8, loss="mse")
    fitted.fit(
        X,
        y,
        epochs=6,
        learning_rate={"sgd": 0.05, "momentum": 0.01, "adam": 0.01}[optimizer],
        batch_size=16,
        normalize_inputs=False,
        optimizer=optimizer,
    )
    reference = TrainableNetwork(layers, acts, seed=8, loss="mse")
    _textbook_fit(reference, X, y, 6, optimizer)
    for got, want in zip(fitted.layers, reference.layers, strict=True):
        np.testing.assert_allclose(got.weights, want.weights, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.biases, want.biases, rtol=1e-12, atol=1e-15)
    # Trained, the layers hold arrays of their own (not views of one training vector).
    arrays = [p for layer in fitted.layers for p in (layer.weights, layer.biases)]
    for i, a in enumerate(arrays):
        assert a.flags.owndata and not any(np.shares_memory(a, b) for b in arrays[i + 1 :])


def test_unknown_optimizer_is_rejected() -> None:
    net = TrainableNetwork([2, 2, 1], ["tanh", "identity"])
    with pytest.raises(ValueError, match="optimizer"):
        net.fit(
            np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, learning_rate=0.1, optimizer="rmsprop"
        )


def test_optimizer_update_rules() -> None:
    g = np.array([2.0, -4.0])

    w = np.array([1.0, 1.0])
    GradientDescent(0.1).step([w], [g])  # w -= learning_rate * g
    np.testing.assert_allclose(w, [0.8, 1.4])

    w, heavy_ball = np.array([1.0, 1.0]), Momentum(0.1, momentum=0.5)
    heavy_ball.step([w], [g])  # v = g
    heavy_ball.step([w], [g])  # v = 0.5 g + g
    np.testing.assert_allclose(w, [1.0 - 0.1 * (2 + 3), 1.0 + 0.1 * (4 + 6)])

    w, adam = np.array([1.0, 1.0]), Adam(0.1)
    adam.step([w], [g])  # bias-corrected first step: learning_rate * sign(g)
    np.testing.assert_allclose(w, [0.9, 1.1], rtol=1e-6)
