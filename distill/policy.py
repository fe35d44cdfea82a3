"""Bit-width policies for dynamic post-training quantization, and their training by REINFORCE.

Frank & Ardis, "Catastrophic failure under dynamic post-training quantization" (arXiv:2510.02457)
let a policy choose bit-widths at inference time and leave the bit-width set and the learning
algorithm open. Here a policy picks, per layer (and optionally per example), a bit-width from
:data:`unnatural.distill.quant.BITS` under a budget "mean bits over layers <= B", and is trained with
REINFORCE (Williams 1992, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 8, §4) with a moving-average reward baseline.

Every policy returns int64 bit-widths ``(L,)`` (per layer) or ``(N, L)`` (per example and layer)
with values in ``BITS``; policies never choose ``FLOAT`` (float is the "no policy" baseline).
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .models import check_int
from .quant import BITS

K = len(BITS)
_BITS_T = torch.tensor(BITS)


def _check_budget(budget) -> float:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not 2 <= budget <= 8:
        raise ValueError(f"budget {budget!r} is not allowed: expected a number in [2, 8] (mean bits per layer)")
    return float(budget)


def _check_policy_bits(bits) -> torch.Tensor:
    """``bits`` as an int64 tensor ``(L,)`` or ``(N, L)``, L >= 1, every value in BITS."""
    try:
        t = torch.as_tensor(bits)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"bits {bits!r} is not allowed: expected integers in 2..8 ({exc})") from None
    if t.dim() not in (1, 2) or t.shape[-1] < 1:
        raise ValueError(f"bits shape {tuple(t.shape)} is not allowed: expected (L,) or (N, L) with L >= 1")
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise ValueError(f"bits must be integers in 2..8, got dtype {t.dtype}")
    t = t.to(torch.int64)
    bad = t[(t < BITS[0]) | (t > BITS[-1])]
    if bad.numel():
        raise ValueError(f"bits value {int(bad[0])} is not allowed: expected 2..8")
    return t


def budget_repair(bits, budget: float) -> torch.Tensor:
    """Make every assignment spend the budget: mean bits over layers = the largest multiple of
    1/L that is <= ``budget``.

    A policy distributes a fixed budget rather than staying under a cap: under "mean <= B" the
    policy that hurts a network most is trivially all 2-bit, which every network fails; spending
    the same bits everywhere makes policies comparable (uniform ``B`` bits is one of them) and
    leaves the worst case the question of *where* the low bit-widths go.

    Greedy and deterministic: while a row's sum is above ``floor(B * L)``, lower its highest
    bit-width by one; while it is below, raise its highest bit-width that is below 8 (ties: the
    earliest layer). Both directions keep the assignment's lowest bit-widths where the policy put
    them. Rows that already spend the budget are unchanged.

    Args:
        bits: integer ``(L,)`` or ``(N, L)`` (each row separately), values in :data:`BITS`.
        budget: mean bits per layer, in [2, 8].

    Returns:
        A new int64 tensor of the same shape.

    Raises:
        ValueError: ``budget`` outside [2, 8], or bad ``bits`` (values, dtype or shape).
    """
    budget = _check_budget(budget)
    t = _check_policy_bits(bits)
    out = t.clone().reshape(-1, t.shape[-1])
    cap = math.floor(budget * out.shape[1] + 1e-9)  # integer sums: mean <= budget  <=>  sum <= cap
    while True:
        sums = out.sum(1)
        over, under = (sums > cap).nonzero().squeeze(1), (sums < cap).nonzero().squeeze(1)
        if over.numel() == 0 and under.numel() == 0:
            return out.reshape(t.shape)
        out[over, out[over].argmax(1)] -= 1     # argmax: the first maximal index (earliest layer)
        below8 = torch.where(out[under] < BITS[-1], out[under], torch.zeros_like(out[under]))
        out[under, below8.argmax(1)] += 1


def uniform_policy(num_layers: int, bits: int) -> torch.Tensor:
    """Every layer at ``bits``: int64 ``(num_layers,)``.

    Raises:
        ValueError: ``num_layers < 1`` or ``bits`` not in :data:`BITS`.
    """
    num_layers = check_int("num_layers", num_layers)
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or bits not in BITS:
        raise ValueError(f"bits {bits!r} is not allowed: expected an integer in 2..8")
    return torch.full((num_layers,), int(bits), dtype=torch.int64)


def random_policy(num_layers: int, budget: float, generator: torch.Generator | None = None,
                  n: int | None = None) -> torch.Tensor:
    """Bit-widths drawn uniformly from :data:`BITS` per layer, then :func:`budget_repair` ed.

    Args:
        num_layers: L >= 1.
        budget: mean-bits budget in [2, 8].
        generator: CPU random generator (None: torch's global one).
        n: None for one per-layer assignment ``(L,)``; else n >= 1 rows ``(n, L)`` (per example).

    Returns:
        int64 ``(L,)`` or ``(n, L)``, every row spending the budget (:func:`budget_repair`).

    Raises:
        ValueError: bad ``num_layers``, ``budget`` or ``n``.
    """
    num_layers = check_int("num_layers", num_layers)
    budget = _check_budget(budget)
    shape = (num_layers,) if n is None else (check_int("n", n), num_layers)
    return budget_repair(_BITS_T[torch.randint(K, shape, generator=generator)], budget)


def fixed_policy(bits_list) -> torch.Tensor:
    """A given per-layer assignment, checked: int64 ``(L,)``.

    Raises:
        ValueError: not a non-empty 1-D integer sequence with values in :data:`BITS`.
    """
    t = _check_policy_bits(bits_list)
    if t.dim() != 1:
        raise ValueError(f"bits_list shape {tuple(t.shape)} is not allowed: expected (L,)")
    return t


def _sample(logits: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one index per row of ``logits (..., K)``: returns bits (...) and the summed log-prob over the last
    batch dim (layers)."""
    logp = F.log_softmax(logits, -1)
    idx = torch.multinomial(logp.detach().exp().reshape(-1, K), 1, generator=generator).view(logp.shape[:-1])
    return _BITS_T.to(idx.device)[idx], logp.gather(-1, idx.unsqueeze(-1)).squeeze(-1).sum(-1)


def _entropy(logits: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits, -1)
    return -(logp.exp() * logp).sum(-1).sum(-1)


def _greedy(logits: torch.Tensor, budget: float | None) -> torch.Tensor:
    bits = _BITS_T.to(logits.device)[logits.detach().argmax(-1)]
    return bits if budget is None else budget_repair(bits, budget)


class LayerPolicy(nn.Module):
    """Independent categorical distribution over :data:`BITS` per layer (input-independent).

    ``logits``: Parameter ``(L, K)``, K = len(BITS), initialised to zeros (uniform).
    """

    def __init__(self, num_layers: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(check_int("num_layers", num_layers), K))

    @property
    def num_layers(self) -> int:
        return self.logits.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` independent assignments: bits int64 ``(n, L)``, log_prob float ``(n,)`` (sum over layers,
        differentiable w.r.t. ``logits``). Raises ValueError for ``n < 1``."""
        n = check_int("n", n)
        return _sample(self.logits.unsqueeze(0).expand(n, -1, -1), generator)

    def greedy(self, budget: float | None = None) -> torch.Tensor:
        """Most likely bit-width per layer, int64 ``(L,)``; with ``budget``, :func:`budget_repair` ed."""
        return _greedy(self.logits, budget)

    def entropy(self) -> torch.Tensor:
        """Entropy of the joint distribution (sum over layers), a scalar in nats."""
        return _entropy(self.logits)


class ExamplePolicy(nn.Module):
    """Per-example policy: an MLP from cheap image statistics to per-layer bit-width logits.

    Features of ``x (N, C, H, W)``: the image average-pooled to 4x4 per channel (16C numbers) and
    the per-channel mean and standard deviation (2C): ``18C`` (54 for RGB) -> Linear(hidden) ->
    ReLU -> Linear(L*K) -> logits ``(N, L, K)``. The last layer starts at zero so the initial
    policy is uniform, like :class:`LayerPolicy`.
    """

    def __init__(self, num_layers: int, in_channels: int = 3, hidden: int = 64):
        super().__init__()
        self.num_layers = check_int("num_layers", num_layers)
        self.in_channels = check_int("in_channels", in_channels)
        self.mlp = nn.Sequential(nn.Linear(18 * self.in_channels, check_int("hidden", hidden)), nn.ReLU(),
                                 nn.Linear(hidden, self.num_layers * K))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` float -> ``(N, 18C)`` float. Raises ValueError for another shape."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x shape {tuple(x.shape)} is not allowed: expected (N, {self.in_channels}, H, W)")
        x = x.detach().float()
        return torch.cat([F.adaptive_avg_pool2d(x, 4).flatten(1), x.mean((2, 3)), x.std((2, 3), unbiased=False)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, L, K)`` for images ``x (N, C, H, W)``."""
        return self.mlp(self.features(x)).view(x.shape[0], self.num_layers, K)

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One assignment per example: bits int64 ``(N, L)``, log_prob float ``(N,)`` (differentiable)."""
        return _sample(self(x), generator)

    def greedy(self, x: torch.Tensor, budget: float | None = None) -> torch.Tensor:
        """Most likely bit-widths, int64 ``(N, L)``; with ``budget``, each row :func:`budget_repair` ed."""
        return _greedy(self(x), budget)

    def entropy(self, x: torch.Tensor) -> torch.Tensor:
        """Per-example entropy (sum over layers), float ``(N,)`` in nats."""
        return _entropy(self(x))


class PolicyGradient:
    """REINFORCE updates of a policy, one call per batch of scored draws (Williams 1992, §4),
    with a moving-average reward baseline and a budget penalty. :func:`reinforce` loops it; the
    PTQ study calls it inside network training, where the draws also drive QAT.

    The shaped reward is ``r - penalty * |mean_bits - budget|`` (the policy learns to spend the
    budget, see :func:`budget_repair`); the loss is ``mean(-(r_shaped - b) * log_prob) -
    entropy_coef * entropy`` with ``b`` the baseline *before* this update (independent of the
    current draws, so the gradient estimate stays unbiased; the first update uses its own mean).
    Then ``b <- m * b + (1 - m) * mean(r_shaped)``.

    Raises:
        ValueError: a bad argument, named with its allowed range.
    """

    def __init__(self, policy: nn.Module, budget: float, lr: float = 0.05, baseline_momentum: float = 0.9,
                 penalty: float = 1.0, entropy_coef: float = 0.0):
        for label, value, ok, allowed in (("lr", lr, lr > 0, "> 0"), ("penalty", penalty, penalty >= 0, ">= 0"),
                                          ("entropy_coef", entropy_coef, entropy_coef >= 0, ">= 0"),
                                          ("baseline_momentum", baseline_momentum, 0 <= baseline_momentum < 1,
                                           "in [0, 1)")):
            if not ok:
                raise ValueError(f"{label} {value!r} is not allowed: expected {allowed}")
        if not isinstance(policy, (LayerPolicy, ExamplePolicy)):
            raise ValueError(f"policy {type(policy).__name__} is not allowed: expected LayerPolicy or ExamplePolicy")
        self.policy, self.budget = policy, _check_budget(budget)
        self.penalty, self.entropy_coef, self.momentum = penalty, entropy_coef, baseline_momentum
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
        self.baseline: torch.Tensor | None = None

    def update(self, bits: torch.Tensor, log_prob: torch.Tensor, reward: torch.Tensor,
               entropy: torch.Tensor | None = None) -> dict:
        """One step from draws ``bits (n, L)``, their ``log_prob (n,)`` (with grad) and ``reward
        (n,)`` (higher is better; detached here). ``entropy``: the policy's mean entropy, with grad,
        when ``entropy_coef > 0``. Returns ``reward``, ``reward_max``, ``shaped``, ``baseline``,
        ``mean_bits``, ``loss`` (floats).

        Raises:
            ValueError: ``reward`` is not one value per draw.
        """
        reward = torch.as_tensor(reward, dtype=torch.float32).detach().to(log_prob.device)
        if tuple(reward.shape) != (bits.shape[0],):
            raise ValueError(f"reward shape {tuple(reward.shape)}: expected ({bits.shape[0]},), one per draw")
        mean_bits = bits.float().mean(1).to(log_prob.device)
        shaped = reward - self.penalty * (mean_bits - self.budget).abs()
        b = shaped.mean() if self.baseline is None else self.baseline
        loss = -((shaped - b) * log_prob).mean()
        if entropy is not None and self.entropy_coef:
            loss = loss - self.entropy_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = (self.momentum * b + (1 - self.momentum) * shaped.mean()).detach()
        return {"reward": reward.mean().item(), "reward_max": reward.max().item(), "shaped": shaped.mean().item(),
                "baseline": self.baseline.item(), "mean_bits": mean_bits.mean().item(), "loss": loss.item()}


def reinforce(policy: LayerPolicy | ExamplePolicy, objective: Callable[..., torch.Tensor], steps: int,
              budget: float, lr: float = 0.05, samples: int = 16, baseline_momentum: float = 0.9,
              penalty: float = 1.0, entropy_coef: float = 0.0, generator: torch.Generator | None = None,
              features: Callable[[], torch.Tensor] | None = None) -> list[dict]:
    """Train ``policy`` in place to maximize ``objective`` while spending the budget (mean bits =
    ``budget``): ``steps`` :class:`PolicyGradient` updates.

    Sampling is stochastic, so the penalty only holds the budget on average: read the final policy
    out with ``policy.greedy(budget)`` (argmax + :func:`budget_repair`), which meets it exactly.

    Args:
        policy: :class:`LayerPolicy` (``samples`` assignments ``(samples, L)`` per step) or
            :class:`ExamplePolicy` (one assignment per example of the batch ``x = features()``).
        objective: reward, higher is better, computed without gradients. LayerPolicy:
            ``objective(bits (samples, L)) -> (samples,)`` (one value per sampled assignment; the
            caller may loop or vectorize). ExamplePolicy: ``objective(bits (N, L), x) -> (N,)``.
        steps: number of updates, >= 1.
        budget: mean bits per layer in [2, 8].
        lr, baseline_momentum, penalty, entropy_coef: see :class:`PolicyGradient` (penalty in
            reward units per bit of mean away from the budget: scale it to the reward).
        samples: LayerPolicy draws per step, >= 1 (ignored for ExamplePolicy).
        generator: CPU generator for the draws (None: global RNG).
        features: ExamplePolicy only: ``() -> x (N, C, H, W)``, called once per step.

    Returns:
        History, one dict per step: ``step``, ``entropy`` and :meth:`PolicyGradient.update`'s keys.

    Raises:
        ValueError: a bad argument (named with its allowed range), ``features`` missing for an
        ExamplePolicy, or an objective output of the wrong shape.
    """
    steps, samples = check_int("steps", steps), check_int("samples", samples)
    pg = PolicyGradient(policy, budget, lr, baseline_momentum, penalty, entropy_coef)
    per_example = isinstance(policy, ExamplePolicy)
    if per_example and not callable(features):
        raise ValueError("an ExamplePolicy needs features: a callable returning the batch x (N, C, H, W)")
    history = []
    for step in range(steps):
        if per_example:
            x = features()
            bits, log_prob = policy.sample(x, generator)
            entropy = policy.entropy(x).mean()
            with torch.no_grad():
                reward = objective(bits, x)
        else:
            bits, log_prob = policy.sample(samples, generator)
            entropy = policy.entropy()
            with torch.no_grad():
                reward = objective(bits)
        history.append({"step": step, "entropy": entropy.item(), **pg.update(bits, log_prob, reward, entropy)})
    return history
