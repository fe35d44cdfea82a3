"""Dynamic post-training fake quantization of any classifier, with per-layer (and per-example) bit-widths.

Reproduces the setting of Frank & Ardis, "Catastrophic failure under dynamic post-training
quantization" (arXiv:2510.02457): activations are quantized with ranges decided at inference time
from the current input, at bit-widths a policy (:mod:`unnatural.distill.policy`) chooses per layer and
possibly per input. The paper leaves the bit-width set open; here it is :data:`BITS` plus
:data:`FLOAT` (not quantized).

Quantizers (all "fake": float in, float on the integer grid out, same shape and dtype):

* weights: per-output-channel symmetric uniform, ``2^(b-1) - 1`` positive levels (the restricted,
  zero-centred range of Krishnamoorthi 2018, "Quantizing deep convolutional networks for
  efficient inference: A whitepaper", §2.2-2.4, per-channel §3.1);
* activations: dynamic asymmetric (affine) min/max, ``2^b - 1`` steps, the range widened to hold 0
  and the zero point rounded so that 0 is exact (Jacob et al. 2018, "Quantization and Training of
  Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR, §2.1 and §3), one
  range per tensor or per example.

Gradients pass straight through (identity; Bengio et al. 2013, "Estimating or propagating
gradients through stochastic neurons", §3.3 straight-through estimator).
"""
from __future__ import annotations

import copy
import numbers
import operator
import warnings

import torch
import torch.nn.functional as F
from torch import nn

BITS = (2, 3, 4, 5, 6, 7, 8)
FLOAT = 32
_ALLOWED = "2..8 or 32 (FLOAT)"
_ALLOWED_T = torch.tensor((*BITS, FLOAT))


def _check_int_bits(bits) -> int:
    """``bits`` as a Python int in BITS or FLOAT, else ValueError naming it."""
    try:
        if isinstance(bits, bool):
            raise TypeError
        value = operator.index(bits)
    except TypeError:
        raise ValueError(f"bits {bits!r} is not allowed: expected an integer in {_ALLOWED}") from None
    if value != FLOAT and value not in BITS:
        raise ValueError(f"bits {value} is not allowed: expected {_ALLOWED}")
    return value


def _check_bits_tensor(bits, what: str = "bits") -> torch.Tensor:
    """``bits`` (any array-like of integers) as an int64 tensor with every value in BITS or FLOAT."""
    try:
        t = torch.as_tensor(bits)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{what} {bits!r} is not allowed: expected integers in {_ALLOWED} ({exc})") from None
    # An empty list becomes float32: skip the dtype check so the caller's shape check names it.
    if t.numel() and (t.dtype == torch.bool or t.is_floating_point() or t.is_complex()):
        raise ValueError(f"{what} must be integers in {_ALLOWED}, got dtype {t.dtype}")
    t = t.to(torch.int64)
    bad = t[~torch.isin(t, _ALLOWED_T.to(t.device))]
    if bad.numel():
        raise ValueError(f"{what} value {int(bad[0])} is not allowed: expected {_ALLOWED}")
    return t


def _weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Unchecked :func:`fake_quant_weight` (``bits`` in BITS)."""
    wd = w.detach()
    qmax = float(2 ** (bits - 1) - 1)
    amax = wd.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True) if w.dim() > 1 else wd.abs()
    scale = amax / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero channel stays exactly 0
    q = torch.round(wd / scale).clamp_(-qmax, qmax).mul_(scale)
    # q + (w - w) is exactly q in the forward pass (w + (q - w) can be off by an ulp), gradient identity.
    return q + (w - wd) if w.requires_grad else q


def _act(x: torch.Tensor, bits, per_example: bool) -> torch.Tensor:
    """Unchecked :func:`fake_quant_activation` (``bits``: an int in BITS, or a checked ``(N,)`` tensor)."""
    xd = x.detach()
    view = (-1,) + (1,) * (x.dim() - 1)
    if per_example:
        lo, hi = torch.aminmax(xd.reshape(xd.shape[0], -1), dim=1)
        lo, hi = lo.view(view), hi.view(view)
    else:
        lo, hi = torch.aminmax(xd)
    # The range always holds 0 (as in torch.ao / fbgemm): padding and ReLU zeros stay exact, and a
    # one-signed input is still covered by the grid, so |q - x| <= scale / 2 everywhere.
    lo, hi = lo.clamp(max=0), hi.clamp(min=0)
    per_bits = isinstance(bits, torch.Tensor)
    if per_bits:  # FLOAT rows get 8 here and are passed through below (2^32 levels would be pointless)
        levels = (2 ** bits.clamp(max=8) - 1).to(x.dtype).view(view)
    else:
        levels = float(2 ** bits - 1)
    scale = (hi - lo) / levels
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # all-zero input: any scale is exact
    zp = torch.round(-lo / scale)
    zp = torch.minimum(zp, levels) if per_bits else zp.clamp(max=levels)  # -lo/scale <= levels up to rounding
    q = torch.round(xd / scale).add_(zp).clamp_(min=0)
    q = torch.minimum(q, levels) if per_bits else q.clamp_(max=levels)
    q = q.sub_(zp).mul_(scale)
    if per_bits:
        q = torch.where((bits == FLOAT).view(view), xd, q)
    return q + (x - xd) if x.requires_grad else q


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel symmetric uniform fake quantization with a straight-through gradient.

    For each output channel c (dim 0): ``scale_c = max|w_c| / (2^(b-1) - 1)`` and
    ``q = clamp(round(w / scale_c), -(2^(b-1) - 1), 2^(b-1) - 1) * scale_c`` (Krishnamoorthi 2018,
    §2.2 symmetric, §3.1 per-channel), so ``|q - w| <= scale_c / 2``. All-zero channels stay 0.

    Args:
        w: float weight, ``(C_out, ...)`` (any dim >= 1; a 1-D tensor has one channel per element).
        bits: in :data:`BITS`, or :data:`FLOAT` (returns ``w`` itself).

    Returns:
        Same shape and dtype as ``w``; forward value exactly ``q``, gradient w.r.t. ``w`` identity.

    Raises:
        ValueError: ``bits`` not in BITS or FLOAT, or a 0-d ``w``.
    """
    bits = _check_int_bits(bits)
    if w.dim() < 1:
        raise ValueError(f"w must have a channel dim 0: got shape {tuple(w.shape)}")
    return w if bits == FLOAT else _weight(w, bits)


def fake_quant_activation(x: torch.Tensor, bits, per_example: bool = False) -> torch.Tensor:
    """Dynamic asymmetric (affine) min/max fake quantization with a straight-through gradient.

    The range is read from the current input (dynamic quantization, Frank & Ardis 2025 §2): one
    ``[min, max]`` over the whole tensor, or per example over all non-batch dims; it is widened to
    hold 0. With ``levels = 2^b - 1``: ``scale = (max - min) / levels``,
    ``zp = clamp(round(-min / scale), 0, levels)`` (so 0 is exactly representable; Jacob et al.
    2018 §2.1), ``q = (clamp(round(x / scale) + zp, 0, levels) - zp) * scale``; ``|q - x| <=
    scale / 2`` for every element.

    Args:
        x: float ``(N, ...)``.
        bits: an int in :data:`BITS` or :data:`FLOAT` (returns ``x``); or, only with
            ``per_example``, an integer tensor ``(N,)``: each example's own bit-width (FLOAT
            entries pass through unquantized).
        per_example: one range per example (dim 0) instead of one per tensor.

    Returns:
        Same shape and dtype as ``x``; forward value exactly ``q``, gradient w.r.t. ``x`` identity.

    Raises:
        ValueError: a bit-width not in BITS or FLOAT, a bits tensor without ``per_example`` or of
        shape other than ``(N,)``, or a 0-d ``x``.
    """
    if x.dim() < 1:
        raise ValueError(f"x must have a batch dim 0: got shape {tuple(x.shape)}")
    if isinstance(bits, torch.Tensor) and bits.dim() > 0:
        if not per_example:
            raise ValueError("a bits tensor (per-example bit-widths) needs per_example=True")
        bits = _check_bits_tensor(bits).to(x.device)
        if tuple(bits.shape) != (x.shape[0],):
            raise ValueError(f"bits shape {tuple(bits.shape)} is not allowed: "
                             f"expected ({x.shape[0]},), one per example")
        return _act(x, bits, True)
    bits = _check_int_bits(bits)
    return x if bits == FLOAT else _act(x, bits, per_example)


class _QuantLayer(nn.Module):
    """Stands in for one ``nn.Conv2d`` / ``nn.Linear``: fake-quantizes its input and weight, then runs
    the layer's own functional op. It registers the layer's very Parameters and buffers under the
    same names (so state_dict keys and optimizers are unchanged) and holds the layer unregistered."""

    def __init__(self, layer: nn.Module, per_example: bool):
        super().__init__()
        self.__dict__["layer"] = layer  # not a submodule: that would add a "layer." prefix to every key
        for k, p in layer._parameters.items():
            self.register_parameter(k, p)
        for k, b in layer._buffers.items():
            self.register_buffer(k, b, persistent=k not in layer._non_persistent_buffers_set)
        self.per_example = per_example
        self.bits = None  # None (float), an int in BITS, or an (N,) int64 tensor (per example)

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(x, w, self.bias)
        return F.linear(x, w, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bits = self.bits
        if bits is None:
            return self._op(x, self.weight)
        if isinstance(bits, int):
            return self._op(_act(x, bits, self.per_example), _weight(self.weight, bits))
        if bits.shape[0] != x.shape[0]:
            raise ValueError(f"bits were set for {bits.shape[0]} examples but the batch has {x.shape[0]}")
        bits = bits.to(x.device)
        x = _act(x, bits, True)
        values = torch.unique(bits).tolist()
        if len(values) == 1:
            return self._op(x, self.weight if values[0] == FLOAT else _weight(self.weight, values[0]))
        # One op per distinct weight bit-width (at most 8), on that group's examples.
        out = None
        for v in values:
            idx = (bits == v).nonzero().squeeze(1)
            y = self._op(x.index_select(0, idx), self.weight if v == FLOAT else _weight(self.weight, v))
            if out is None:
                out = y.new_empty((x.shape[0], *y.shape[1:]))
            out = out.index_copy(0, idx, y)
        return out

    def extra_repr(self) -> str:
        bits = self.bits if self.bits is None or isinstance(self.bits, int) else f"per-example {tuple(self.bits.shape)}"
        return f"{self.layer!r}, bits={bits}, per_example={self.per_example}"


class DynamicQuantizer:
    """Per-layer dynamic fake quantization of any module, attached by module swap.

    Every ``nn.Conv2d`` / ``nn.Linear`` of ``model`` (in ``named_modules()`` order) is replaced in
    place by a wrapper that quantizes the layer's input activations dynamically
    (:func:`fake_quant_activation`, per tensor or per example) and its weight per channel
    (:func:`fake_quant_weight`) at the layer's current bit-width, then calls the layer's own op
    (``_conv_forward`` / ``F.linear``); the bias stays float. This is the inference-time setting
    of Frank & Ardis 2025 (arXiv:2510.02457) §2, with the bit-width set :data:`BITS` chosen here.
    The wrapper registers the layer's very Parameter objects under the same names, so
    ``state_dict`` keys and an optimizer built before attaching are unchanged. Hooks registered on
    the original layers do not run while attached.

    Attributes:
        layers: qualified names of the quantized layers; ``num_layers`` = L.

    Use ``with DynamicQuantizer(model) as q: q.set_bits(...)``, or call :meth:`remove`.

    Raises:
        ValueError: ``model`` has no Conv2d/Linear layer, or is itself one (it cannot be swapped in place).
    """

    def __init__(self, model: nn.Module, per_example: bool = False):
        if isinstance(model, (nn.Conv2d, nn.Linear)):
            raise ValueError(f"model {type(model).__name__} is itself a layer: wrap it, e.g. nn.Sequential(model)")
        self.model, self.per_example = model, bool(per_example)
        found = {id(m): (name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
        if not found:
            raise ValueError("model has no nn.Conv2d or nn.Linear layer to quantize")
        wrappers = {key: _QuantLayer(m, self.per_example) for key, (_, m) in found.items()}
        self.layers = [name for name, _ in found.values()]
        self._wrappers = list(wrappers.values())
        self._swaps = []  # (parent, attribute, layer, wrapper); a layer shared by two parents is swapped in both
        for parent in list(model.modules()):
            for attr, child in parent._modules.items():
                if child is not None and id(child) in wrappers:
                    self._swaps.append((parent, attr, child, wrappers[id(child)]))
        for parent, attr, _, wrapper in self._swaps:
            parent._modules[attr] = wrapper

    @property
    def num_layers(self) -> int:
        """L, the number of quantized layers."""
        return len(self.layers)

    def set_bits(self, bits) -> None:
        """Set the bit-widths for the next forward passes.

        Args:
            bits: ``None`` (all float); an int (or 0-d tensor) in :data:`BITS` or :data:`FLOAT` (every layer);
                an integer sequence/tensor ``(L,)`` (per layer, in :attr:`layers` order); or, only
                with ``per_example=True``, an integer tensor ``(N, L)`` (per example and layer; the
                next batch must have N examples). FLOAT means "not quantized".

        Raises:
            ValueError: a value not in BITS or FLOAT (named in the message), a non-integer dtype,
            a shape other than ``(L,)`` / ``(N, L)``, or ``(N, L)`` without ``per_example``.
        """
        L = self.num_layers
        if bits is None:
            per_layer = [None] * L
        elif isinstance(bits, numbers.Integral) and not isinstance(bits, bool):
            per_layer = [None if (b := _check_int_bits(bits)) == FLOAT else b] * L
        else:
            t = _check_bits_tensor(bits)
            if t.dim() == 0:
                per_layer = [None if (b := int(t)) == FLOAT else b] * L
            elif t.dim() == 1 and t.shape[0] == L:
                per_layer = [None if v == FLOAT else v for v in t.tolist()]
            elif t.dim() == 2 and t.shape[1] == L and t.shape[0] >= 1 and self.per_example:
                per_layer = list(t.T.contiguous())
            else:
                allowed = (f"({L},) or (N, {L})" if self.per_example
                           else f"({L},) (per-example (N, {L}) needs per_example=True)")
                raise ValueError(f"bits shape {tuple(t.shape)} is not allowed: expected an int, None, or {allowed}")
        for wrapper, b in zip(self._wrappers, per_layer):
            wrapper.bits = b

    def remove(self) -> None:
        """Put the original layers back (idempotent); parameters and buffers are the ones in use now,
        so state_dict keys and values are as if never attached."""
        for parent, attr, layer, wrapper in reversed(self._swaps):
            # Write back in case .to()/_apply replaced the Parameter objects while attached.
            for k in layer._parameters:
                layer._parameters[k] = wrapper._parameters[k]
            for k in layer._buffers:
                layer._buffers[k] = wrapper._buffers[k]
            parent._modules[attr] = layer
        self._swaps = []

    def __enter__(self) -> "DynamicQuantizer":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


@torch.no_grad()
def ao_dynamic_cross_check(model: nn.Module, x: torch.Tensor) -> dict:
    """Cross-check against PyTorch's own dynamic quantization on a real int8 backend.

    ``torch.ao.quantization.quantize_dynamic`` (``{nn.Linear: per_channel_dynamic_qconfig}``,
    qint8) runs on a deep copy of ``model``; our :class:`DynamicQuantizer` (per-tensor activations)
    runs on another copy with every ``nn.Linear`` at 8 bits and every other layer at FLOAT. Both
    copies are in eval mode; ``model`` is not changed.

    The two differ by grid conventions only, not by method: torch.ao's weight observer uses
    ``scale = max|w_c| / 127.5`` on [-128, 127] (ours: ``/ 127`` on [-127, 127]), and on the
    x86 / fbgemm / onednn engines ``quantized::linear_dynamic`` is called with
    ``reduce_range=True``, i.e. 7-bit activations (0..127; qnnpack ignores it and uses 8 bits).
    Each activation then differs by at most ``s7/2 + s8/2 = 0.75 * s7`` (``s7 = range / 127``) and
    each weight by about one weight step, so the logits differ by a small fraction (about 1%) of
    their scale. To show the backend computes exactly the grid we think, each dynamic Linear's
    output is also compared with an emulation (its own dequantized int8 weight, our
    :func:`fake_quant_activation` at 7 and at 8 bits on its captured input); the closer one tells
    whether reduce_range is in effect, and its error should be float rounding (~1e-6).

    Args:
        model: a module with at least one ``nn.Linear`` (registry models: the head only).
        x: a float input batch for ``model``.

    Returns:
        dict: ``max_abs_diff`` (max |logits_ao - logits_ours|), ``max_abs_logit`` (max |logits| of
        the float model, for scale), ``engine`` (``torch.backends.quantized.engine``),
        ``reduce_range`` (bool, 7-bit activations detected), ``emulated_diff`` (max error of the
        emulation over the dynamic Linears).

    Raises:
        ValueError: ``model`` has no ``nn.Linear``, or ``x`` is not on the CPU (torch.ao's int8
        dynamic kernels are CPU-only).
    """
    if x.device.type != "cpu":
        raise ValueError(f"x is on {x.device}: torch.ao dynamic quantization needs cpu tensors and model")
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ValueError("model has no nn.Linear: torch.ao dynamic quantization would not apply")
    with warnings.catch_warnings():  # torch.ao eager quantization warns that it is deprecated
        warnings.simplefilter("ignore")
        from torch.ao.nn.quantized.dynamic import Linear as DynLinear
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        ao = quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
        seen = []
        handles = [m.register_forward_hook(lambda mod, inp, out: seen.append((mod, inp[0], out)))
                   for m in ao.modules() if isinstance(m, DynLinear)]
        ref = ao(x)
        for h in handles:
            h.remove()
        errors = {7: 0.0, 8: 0.0}
        for mod, inp, out in seen:
            w, b = mod.weight().dequantize(), mod.bias()
            for bits in errors:
                errors[bits] = max(errors[bits], (F.linear(_act(inp, bits, False), w, b) - out).abs().max().item())
    ours = copy.deepcopy(model).eval()
    logits = ours(x)
    with DynamicQuantizer(ours) as q:
        q.set_bits([8 if isinstance(w.layer, nn.Linear) else FLOAT for w in q._wrappers])
        mixed = ours(x)
    return {"max_abs_diff": (ref - mixed).abs().max().item(), "max_abs_logit": logits.abs().max().item(),
            "engine": torch.backends.quantized.engine, "reduce_range": errors[7] < errors[8],
            "emulated_diff": min(errors.values())}
