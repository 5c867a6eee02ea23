r"""Masks and kept weights of a network pruned with ``torch.nn.utils.prune``, read from its ``state_dict()``.

``torch.nn.utils.prune`` replaces a pruned parameter ``<prefix>.weight`` by two entries of the module's
state dict: the parameter ``<prefix>.weight_orig`` (the raw weights, untouched by pruning) and the buffer
``<prefix>.weight_mask`` (0/1, same shape); ``<prefix>.weight`` itself becomes a plain attribute,
``weight_orig * weight_mask``, recomputed before each forward pass and absent from the state dict.
A layer that was not pruned keeps its ``<prefix>.weight`` entry. :func:`masks_from_state_dict` reads both
layouts into per-layer 0/1 masks in the package's convention, one ``(n_out, n_in)`` matrix per layer
(``torch.nn.Linear`` stores its weight as ``(out_features, in_features)``, the shape of the masks of
:class:`~graphon_ops.pruning.mlp.MLP`).

torch is never imported here: a tensor is recognised by its ``detach`` method and converted with
``numpy.asarray(value.detach().cpu())``, anything else with ``numpy.asarray(value)``, so the same function
reads a plain mapping of numpy arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from .._validation import as_float_array, as_mask

__all__ = ["TorchMasks", "masks_from_state_dict"]

_ORIG, _MASK, _PLAIN = "weight_orig", "weight_mask", "weight"


@dataclasses.dataclass(frozen=True)
class TorchMasks:
    r"""Per-layer masks and weights read by :func:`masks_from_state_dict`, in layer order.

    All arrays are read-only copies (the state dict is never aliased).

    Attributes
    ----------
    names : list of str
        The module prefix of each layer (``"0"`` for ``"0.weight_orig"``, ``"encoder.fc1"`` for
        ``"encoder.fc1.weight"``; ``""`` for the bare keys of a single module's state dict).
    masks : list of ndarray of uint8
        0/1 matrices of shape ``(n_out, n_in)``: ``<prefix>.weight_mask``, or all ones for a layer that
        was not pruned.
    weights : list of ndarray of float64
        The effective weights ``weight_orig * weight_mask``, i.e. the ``module.weight`` that torch's
        forward pass uses: the weights pruning KEPT (their values at pruning time, not re-drawn) and 0 at
        pruned positions. For an unpruned layer, its ``.weight``.
    raw_weights : list of ndarray of float64
        ``<prefix>.weight_orig`` (values at pruned positions included), or ``.weight`` for an unpruned
        layer; ``weights[l] == raw_weights[l] * masks[l]``.
    """

    names: list
    masks: list
    weights: list
    raw_weights: list

    @property
    def widths(self) -> list:
        """``[n_in of the first layer, n_out of each layer...]``: the ``widths`` of an
        :class:`~graphon_ops.pruning.mlp.MLP` with these masks."""
        return [int(self.masks[0].shape[1])] + [int(mask.shape[0]) for mask in self.masks]

    @property
    def densities(self) -> list:
        """Fraction of kept weights of each layer."""
        return [float(mask.mean()) for mask in self.masks]


def _to_numpy(key: str, value) -> np.ndarray:
    try:
        if hasattr(value, "detach"):  # a torch tensor (possibly requiring grad, possibly on a GPU)
            return np.asarray(value.detach().cpu())
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"state_dict[{key!r}] cannot be converted to a numpy array "
                         f"({type(value).__name__}): {exc}") from None


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _split(key: str):
    """``(prefix, kind)`` of a weight key (kind one of weight / weight_orig / weight_mask), else None."""
    for kind in (_ORIG, _MASK, _PLAIN):
        if key == kind:
            return "", kind
        if key.endswith("." + kind):
            return key[: -len(kind) - 1], kind
    return None


def _key(prefix: str, kind: str) -> str:
    return f"{prefix}.{kind}" if prefix else kind


def _read_layer(state_dict, prefix: str, kinds: set):
    """Mask, masked weights and raw weights of one layer; ``kinds`` are the weight keys present."""
    if _PLAIN in kinds and (_ORIG in kinds or _MASK in kinds):
        other = _key(prefix, _ORIG if _ORIG in kinds else _MASK)
        raise ValueError(f"state_dict holds both {_key(prefix, _PLAIN)!r} and {other!r}: a pruned layer has "
                         f"only weight_orig and weight_mask, an unpruned one only weight")
    if _PLAIN in kinds:
        key = _key(prefix, _PLAIN)
        raw = _check_weight(key, _to_numpy(key, state_dict[key]))
        return _readonly(np.ones(raw.shape, dtype=np.uint8)), _readonly(raw.copy()), _readonly(raw)
    for have, missing in ((_ORIG, _MASK), (_MASK, _ORIG)):
        if have in kinds and missing not in kinds:
            raise ValueError(f"state_dict holds {_key(prefix, have)!r} but not {_key(prefix, missing)!r}: "
                             f"torch.nn.utils.prune leaves both")
    orig_key, mask_key = _key(prefix, _ORIG), _key(prefix, _MASK)
    raw = _check_weight(orig_key, _to_numpy(orig_key, state_dict[orig_key]))
    mask = _to_numpy(mask_key, state_dict[mask_key])
    if mask.shape != raw.shape:
        raise ValueError(f"state_dict[{mask_key!r}] has shape {mask.shape} but state_dict[{orig_key!r}] has "
                         f"shape {raw.shape}; they must match")
    mask = as_mask(f"state_dict[{mask_key!r}]", mask)
    return _readonly(mask), _readonly(raw * mask), _readonly(raw)


def _check_weight(key: str, raw: np.ndarray) -> np.ndarray:
    if raw.ndim != 2:
        raise ValueError(f"state_dict[{key!r}] has shape {raw.shape}, not a 2-D (out_features, in_features) "
                         f"Linear weight; pass layers=[...] (module prefixes) to choose the layers to read")
    # as_float_array names the key and the first non-finite entry; np.array copies so that the result
    # never aliases the caller's array (it is made read-only below)
    return np.array(as_float_array(f"state_dict[{key!r}]", raw, ndim=2, dtype=np.float64), copy=True)


def masks_from_state_dict(state_dict, *, layers=None) -> TorchMasks:
    r"""Read the 0/1 masks and the kept weights that ``torch.nn.utils.prune`` leaves in a ``state_dict()``.

    A pruned layer ``<prefix>`` has the entries ``<prefix>.weight_orig`` (raw weights) and
    ``<prefix>.weight_mask`` (0/1) and no ``<prefix>.weight``; an unpruned layer has ``<prefix>.weight``,
    read as an all-ones mask. Biases (``.bias``, and ``.bias_orig`` / ``.bias_mask`` if the bias was pruned)
    and every other entry (buffers such as ``running_mean``) are ignored.

    The weights returned are the ones pruning KEPT, with their values at pruning time (not re-drawn):
    ``weights[l] = weight_orig * weight_mask``, which is what torch's ``module.weight`` holds, and
    ``raw_weights[l] = weight_orig``. They are in torch's standard parameterisation (a Linear layer's
    default initialisation is uniform on :math:`\pm 1/\sqrt{n_{in}}`), not the :math:`N(0, 1)` raw
    :math:`\omega` of :class:`~graphon_ops.pruning.mlp.MLP`. To use the masks in this package:
    ``MLP(result.widths, masks=result.masks)`` or ``net.with_masks(result.masks)``
    (:meth:`graphon_ops.pruning.MLP.with_masks`, for an MLP of the same widths) and
    ``empirical_ntk(X, result.masks)`` (:func:`graphon_ops.empirical.empirical_ntk`; one output), which
    draw their own weights under the masks.

    Parameters
    ----------
    state_dict : Mapping
        ``model.state_dict()`` (values torch tensors, on any device) or any mapping of names to arrays.
        Layer order is the order of its keys (a torch state dict is ordered by module registration,
        which is the order of the layers in a ``torch.nn.Sequential``); a layer's place is that of its
        first weight key.
    layers : sequence of str, optional
        Module prefixes to read, in this order (e.g. ``["features.0", "classifier"]``); every other entry
        is ignored. Default: every 2-D ``weight`` / ``weight_orig`` entry, in which case any other
        weight (a convolution kernel, a norm layer's 1-D scale) is an error.

    Returns
    -------
    TorchMasks
        ``names``, ``masks`` (uint8, shape ``(out_features, in_features)``, the convention
        ``(n_out, n_in)`` of :class:`~graphon_ops.pruning.mlp.MLP`), ``weights`` (float64, masked, as
        kept) and ``raw_weights`` (float64, ``weight_orig``), one per layer; ``widths`` gives the MLP
        widths ``[n_in, n_1, ..., n_out]``.

    Raises
    ------
    ValueError
        Naming the key: a mask entry other than 0/1 (bool, integer and float 0.0/1.0 masks are fine),
        ``weight_orig`` and ``weight_mask`` of different shapes, NaN or inf in a weight, a
        ``weight_orig`` without its ``weight_mask`` or the converse, ``weight`` beside ``weight_orig``, a
        weight that is not 2-D (unless ``layers`` leaves it out), a prefix of ``layers`` with no weight.
        Naming both layers: consecutive layers that do not chain (``out_features`` of one differs from
        ``in_features`` of the next). Also for a mapping without any layer to read.

    Notes
    -----
    With PyTorch (a literal block, not run by the doctests, since torch is optional):

    .. code-block:: python

        import torch
        import torch.nn.utils.prune  # not imported by `import torch`
        from graphon_ops.pruning import masks_from_state_dict

        model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        torch.nn.utils.prune.l1_unstructured(model[0], "weight", amount=0.8)
        result = masks_from_state_dict(model.state_dict())
        result.names          # ['0', '2']
        result.densities      # [0.203125, 1.0]  (13 of 64 kept; layer 2 not pruned)
        # result.weights[0] equals model[0].weight: the 13 weights pruning kept

    Examples
    --------
    The same layout built from numpy arrays: a pruned layer ``"0"`` and an unpruned readout ``"2"``.

    >>> import numpy as np
    >>> state = {"0.bias": np.zeros(2),
    ...          "0.weight_orig": np.array([[0.5, -2.0, 0.1], [1.5, 0.2, -0.3]]),
    ...          "0.weight_mask": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    ...          "2.weight": np.array([[0.7, -0.4]]), "2.bias": np.zeros(1)}
    >>> result = masks_from_state_dict(state)
    >>> result.names, result.widths
    (['0', '2'], [3, 2, 1])
    >>> result.masks[0]
    array([[0, 1, 0],
           [1, 0, 0]], dtype=uint8)
    >>> result.weights[0]                 # weight_orig * weight_mask: the weights pruning kept
    array([[ 0. , -2. ,  0. ],
           [ 1.5,  0. ,  0. ]])
    >>> result.masks[1]                   # not pruned: all ones
    array([[1, 1]], dtype=uint8)
    >>> from graphon_ops.pruning import MLP
    >>> int(MLP(result.widths, masks=result.masks, seed=0).masks[0].sum())
    2
    """
    if not isinstance(state_dict, Mapping):
        raise ValueError(f"state_dict must be a mapping of names to arrays (model.state_dict()), "
                         f"got {type(state_dict).__name__}")
    found: dict = {}  # prefix -> set of weight kinds present, in order of first appearance
    for key in state_dict:
        if not isinstance(key, str):
            raise ValueError(f"state_dict keys must be strings, got {key!r}")
        split = _split(key)
        if split is not None:
            found.setdefault(split[0], set()).add(split[1])

    if layers is None:
        prefixes = list(found)
    else:
        if isinstance(layers, (str, bytes)):
            raise ValueError(f"layers must be a sequence of module prefixes, got the string {layers!r} "
                             f"(write [{layers!r}])")
        prefixes = list(layers)
        for prefix in prefixes:
            if not isinstance(prefix, str):
                raise ValueError(f"layers must hold module prefixes (strings), got {prefix!r}")
            if prefix not in found:
                hint = ""
                split = _split(prefix)
                if split is not None and split[0] in found:
                    hint = f" (give the module prefix {split[0]!r}, not the parameter name)"
                raise ValueError(f"layers: no {_key(prefix, _PLAIN)!r} or {_key(prefix, _ORIG)!r} in "
                                 f"state_dict{hint}")
        duplicates = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if duplicates:
            raise ValueError(f"layers lists {duplicates} more than once")
    if not prefixes:
        raise ValueError("state_dict holds no weight, weight_orig or weight_mask entry: nothing to read")

    names: list[str] = []
    masks: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    raw_weights: list[np.ndarray] = []
    for prefix in prefixes:
        mask, weight, raw = _read_layer(state_dict, prefix, found[prefix])
        if masks and masks[-1].shape[0] != mask.shape[1]:
            raise ValueError(f"layers {names[-1]!r} (out_features {masks[-1].shape[0]}) and {prefix!r} "
                             f"(in_features {mask.shape[1]}) do not chain; pass layers=[...] to choose "
                             f"consecutive Linear layers")
        names.append(prefix)
        masks.append(mask)
        weights.append(weight)
        raw_weights.append(raw)
    return TorchMasks(names=names, masks=masks, weights=weights, raw_weights=raw_weights)
