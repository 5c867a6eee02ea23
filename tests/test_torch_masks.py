"""masks_from_state_dict: the layout torch.nn.utils.prune leaves in a state_dict, read without torch."""

import re

import numpy as np
import pytest

from graphon_ops.empirical import empirical_ntk
from graphon_ops.pruning import MLP, TorchMasks, masks_from_state_dict


def _pruned_state(rng):
    """What model.state_dict() holds for Sequential(Linear(5, 8), ReLU, Linear(8, 6), ReLU, Linear(6, 1))
    after pruning layers "0" and "2" (biases first, then weight_orig, then the weight_mask buffer)."""
    orig0, orig2, readout = rng.standard_normal((8, 5)), rng.standard_normal((6, 8)), rng.standard_normal((1, 6))
    mask0 = (rng.random((8, 5)) < 0.3).astype(np.float32)   # torch's masks are float 0.0/1.0
    mask2 = rng.random((6, 8)) < 0.5                          # bool is accepted too
    state = {"0.bias": rng.standard_normal(8), "0.weight_orig": orig0, "0.weight_mask": mask0,
             "2.bias": rng.standard_normal(6), "2.weight_orig": orig2, "2.weight_mask": mask2,
             "4.weight": readout, "4.bias": rng.standard_normal(1)}
    return state


def test_reads_masks_kept_weights_names_and_order(rng):
    state = _pruned_state(rng)
    result = masks_from_state_dict(state)
    assert isinstance(result, TorchMasks)
    assert result.names == ["0", "2", "4"]
    assert result.widths == [5, 8, 6, 1]
    expected_masks = [state["0.weight_mask"], state["2.weight_mask"], np.ones((1, 6))]
    raws = [state["0.weight_orig"], state["2.weight_orig"], state["4.weight"]]
    for mask, weight, raw, expected_mask, expected_raw in zip(result.masks, result.weights, result.raw_weights,
                                                              expected_masks, raws):
        assert mask.dtype == np.uint8 and weight.dtype == np.float64 and raw.dtype == np.float64
        np.testing.assert_array_equal(mask, np.asarray(expected_mask, dtype=np.uint8))
        np.testing.assert_array_equal(raw, expected_raw)
        np.testing.assert_array_equal(weight, expected_raw * expected_mask)   # the weights pruning kept
        assert np.all(weight[mask == 0] == 0)
    np.testing.assert_array_equal(result.weights[2], state["4.weight"])      # unpruned: its .weight
    assert result.densities[2] == 1.0
    assert result.densities[0] == pytest.approx(state["0.weight_mask"].mean())


def test_layer_order_is_key_order_not_sorted(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    state = {"zeta.weight": a, "alpha.weight_orig": b, "alpha.weight_mask": np.ones((2, 3), dtype=np.uint8)}
    assert masks_from_state_dict(state).names == ["zeta", "alpha"]
    # a bare module's state dict (no prefix)
    bare = masks_from_state_dict({"weight_orig": a, "weight_mask": np.ones((3, 4)), "bias": np.zeros(3)})
    assert bare.names == [""] and bare.widths == [4, 3]


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32, np.float64])
def test_mask_dtypes(dtype, rng):
    mask = rng.random((4, 3)) < 0.5
    state = {"l.weight_orig": rng.standard_normal((4, 3)), "l.weight_mask": mask.astype(dtype)}
    np.testing.assert_array_equal(masks_from_state_dict(state).masks[0], mask.astype(np.uint8))


def test_results_are_readonly_copies(rng):
    state = _pruned_state(rng)
    before = {k: v.copy() for k, v in state.items()}
    result = masks_from_state_dict(state)
    for array in result.masks + result.weights + result.raw_weights:
        assert not array.flags.writeable
    assert not np.shares_memory(result.raw_weights[0], state["0.weight_orig"])
    assert not np.shares_memory(result.raw_weights[2], state["4.weight"])
    for key, value in state.items():
        np.testing.assert_array_equal(value, before[key])
        assert value.flags.writeable


class _FakeTensor:
    """The two methods of a torch tensor that masks_from_state_dict uses (detach, cpu)."""

    def __init__(self, array):
        self.array, self.calls = np.asarray(array), []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self.array

    def __array__(self, *args, **kwargs):   # a tensor requiring grad refuses this: must not be used
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_tensor_like_values_are_detached(rng):
    orig, mask = rng.standard_normal((3, 2)), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    tensors = {"fc.weight_orig": _FakeTensor(orig), "fc.weight_mask": _FakeTensor(mask)}
    result = masks_from_state_dict(tensors)
    np.testing.assert_array_equal(result.weights[0], orig * mask)
    assert all(t.calls == ["detach", "cpu"] for t in tensors.values())


def test_usable_with_mlp_and_empirical_ntk(rng):
    result = masks_from_state_dict(_pruned_state(rng))
    net = MLP(result.widths, masks=result.masks, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(net.masks, result.masks))
    X = rng.standard_normal((3, 5))
    assert empirical_ntk(X, result.masks, seed=0).shape == (3, 3)


# ---------------------------------------------------------------- bad inputs, each naming the key
@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0, np.nan])
def test_non_binary_mask(bad, rng):
    state = _pruned_state(rng)
    mask = state["2.weight_mask"].astype(np.float64)
    mask[1, 3] = bad
    state["2.weight_mask"] = mask
    with pytest.raises(ValueError, match=r"'2\.weight_mask'.*0 and 1.*\(1, 3\) is " + re.escape(repr(mask[1, 3]))):
        masks_from_state_dict(state)


def test_shape_mismatch(rng):
    state = _pruned_state(rng)
    state["0.weight_mask"] = np.ones((5, 8))
    with pytest.raises(ValueError, match=r"'0\.weight_mask'.*\(5, 8\).*'0\.weight_orig'.*\(8, 5\)"):
        masks_from_state_dict(state)


@pytest.mark.parametrize("key", ["0.weight_orig", "2.weight_orig", "4.weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(key, bad, rng):
    state = _pruned_state(rng)
    state[key] = state[key].copy()
    state[key][0, 1] = bad
    with pytest.raises(ValueError, match=re.escape(f"state_dict['{key}'] must be finite; entry (0, 1)")):
        masks_from_state_dict(state)


def test_nan_at_a_pruned_position_is_still_an_error(rng):
    state = _pruned_state(rng)
    state["0.weight_mask"] = np.zeros((8, 5))
    state["0.weight_mask"][0, 0] = 1.0
    state["0.weight_orig"][3, 3] = np.nan
    with pytest.raises(ValueError, match=r"'0\.weight_orig'.*finite"):
        masks_from_state_dict(state)


@pytest.mark.parametrize("drop, message", [("0.weight_mask", r"'0\.weight_orig' but not '0\.weight_mask'"),
                                           ("2.weight_orig", r"'2\.weight_mask' but not '2\.weight_orig'")])
def test_half_of_a_pruned_layer(drop, message, rng):
    state = _pruned_state(rng)
    del state[drop]
    with pytest.raises(ValueError, match=message):
        masks_from_state_dict(state)


def test_weight_beside_weight_orig(rng):
    state = _pruned_state(rng)
    state["0.weight"] = state["0.weight_orig"]
    with pytest.raises(ValueError, match=r"both '0\.weight' and '0\.weight_orig'"):
        masks_from_state_dict(state)


def test_non_2d_weights_need_layers(rng):
    state = {"conv.weight_orig": rng.standard_normal((4, 3, 3, 3)), "conv.weight_mask": np.ones((4, 3, 3, 3)),
             "norm.weight": np.ones(4), "norm.bias": np.zeros(4), "norm.running_mean": np.zeros(4),
             "fc.weight_orig": rng.standard_normal((6, 4)), "fc.weight_mask": np.ones((6, 4)),
             "out.weight": rng.standard_normal((2, 6))}
    with pytest.raises(ValueError, match=r"'conv\.weight_orig'.*\(4, 3, 3, 3\).*layers="):
        masks_from_state_dict(state)
    result = masks_from_state_dict(state, layers=["fc", "out"])
    assert result.names == ["fc", "out"] and result.widths == [4, 6, 2]
    with pytest.raises(ValueError, match=r"'norm\.weight'.*\(4,\)"):
        masks_from_state_dict(state, layers=["norm", "fc"])


def test_layers_argument(rng):
    state = _pruned_state(rng)
    assert masks_from_state_dict(state, layers=["2", "4"]).names == ["2", "4"]
    with pytest.raises(ValueError, match=r"no '7\.weight' or '7\.weight_orig'"):
        masks_from_state_dict(state, layers=["0", "7"])
    with pytest.raises(ValueError, match=r"module prefix '0'"):
        masks_from_state_dict(state, layers=["0.weight_orig"])
    with pytest.raises(ValueError, match="the string"):
        masks_from_state_dict(state, layers="0")
    with pytest.raises(ValueError, match="more than once"):
        masks_from_state_dict(state, layers=["0", "0"])
    with pytest.raises(ValueError, match=r"layers '0' \(out_features 8\) and '4' \(in_features 6\) do not chain"):
        masks_from_state_dict(state, layers=["0", "4"])


def test_layers_that_do_not_chain(rng):
    state = _pruned_state(rng)
    state["4.weight"] = rng.standard_normal((1, 7))
    with pytest.raises(ValueError, match=r"layers '2' \(out_features 6\) and '4' \(in_features 7\) do not chain"):
        masks_from_state_dict(state)


def test_not_a_mapping_or_nothing_to_read():
    with pytest.raises(ValueError, match="must be a mapping"):
        masks_from_state_dict([("0.weight", np.ones((2, 2)))])
    with pytest.raises(ValueError, match="nothing to read"):
        masks_from_state_dict({"0.bias": np.zeros(2)})
    with pytest.raises(ValueError, match="keys must be strings"):
        masks_from_state_dict({0: np.ones((2, 2))})


# ---------------------------------------------------------------- with torch itself, where installed
def test_real_torch_prune():
    torch = pytest.importorskip("torch")
    prune = pytest.importorskip("torch.nn.utils.prune")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    prune.l1_unstructured(model[0], "weight", amount=0.8)
    state = model.state_dict()
    assert "0.weight" not in state and "0.weight_orig" in state and "2.weight" in state

    result = masks_from_state_dict(state)
    assert result.names == ["0", "2"] and result.widths == [5, 8, 3]
    np.testing.assert_array_equal(result.masks[0], model[0].weight_mask.numpy().astype(np.uint8))
    np.testing.assert_array_equal(result.weights[0], model[0].weight.detach().numpy())   # torch's effective weight
    np.testing.assert_array_equal(result.raw_weights[0], model[0].weight_orig.detach().numpy())
    assert int(result.masks[0].sum()) == 40 - round(0.8 * 40)
    kept = result.masks[0] == 1
    assert np.abs(result.raw_weights[0][kept]).min() >= np.abs(result.raw_weights[0][~kept]).max()   # L1: largest kept
    np.testing.assert_array_equal(result.masks[1], np.ones((3, 8), dtype=np.uint8))
    np.testing.assert_array_equal(result.weights[1], model[2].weight.detach().numpy())

    # both layers pruned, the second randomly; parameters that require grad are read through detach()
    prune.random_unstructured(model[2], "weight", amount=0.5)
    assert model[2].weight_orig.requires_grad
    result = masks_from_state_dict(model.state_dict())
    np.testing.assert_array_equal(result.masks[1], model[2].weight_mask.numpy().astype(np.uint8))
    np.testing.assert_array_equal(result.weights[1], model[2].weight.detach().numpy())
    # the parameters themselves (not the state dict) hold the same values
    direct = masks_from_state_dict({"0.weight_orig": model[0].weight_orig, "0.weight_mask": model[0].weight_mask})
    np.testing.assert_array_equal(direct.masks[0], result.masks[0])
