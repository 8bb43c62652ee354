"""An independent evaluator of a network spec, for the oracle test (tests/test_oracle.py).

It shares no code with ``symbackprop``: it reads the TOML itself (``tomllib``), names every
quantity from the README's rules ("Quantity names"), runs the forward pass, the reverse-mode
backward pass (hand-written deltas, no symbolic algebra), the SGD update and ``steps`` further
steps, all in a private mpmath context at 100 significant digits (on gmpy2's integers where it is
installed, as the test extra does: the same digits, faster).  The result has the same
names as ``symbackprop export``'s quantities plus the loss history, so the two can be compared
value by value.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath

CTX = mpmath.MPContext()
CTX.dps = 100
#: |z| below this is a z of exactly 0 (relu'(0) = 0): spec values are short decimals, so a
#: genuinely non-zero pre-activation is never this small, while a zero computed from binary
#: approximations of decimals leaves a residue near 1e-100.
KINK = CTX.mpf("1e-60")


def number(value: Any) -> Any:
    """A TOML number (int, or a float kept as its decimal text) as a 100-digit mpf."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a number: {value!r}")
    q = Fraction(value)
    return CTX.mpf(q.numerator) / q.denominator


# -- activations: value and slope -------------------------------------------------------------

def _sigmoid(z: Any) -> Any:
    return 1 / (1 + CTX.exp(-z))


def activate(name: str, z: Any, slope: Any) -> Any:
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return CTX.tanh(z)
    if name == "relu":
        return z if z > KINK else CTX.mpf(0)
    if name == "leaky_relu":
        return z if z > KINK else slope * z
    if name == "softplus":
        return CTX.log1p(CTX.exp(z))
    if name == "identity":
        return z
    raise ValueError(f"unknown activation {name!r}")


def slope_of(name: str, z: Any, a: Any, slope: Any) -> Any:
    """f'(z), with relu'(0) = 0 and leaky_relu'(0) = slope (the README's convention)."""
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name in ("relu", "leaky_relu"):
        return CTX.mpf(1) if z > KINK else (CTX.mpf(0) if name == "relu" else slope)
    if name == "softplus":
        return _sigmoid(z)
    if name == "identity":
        return CTX.mpf(1)
    raise ValueError(f"unknown activation {name!r}")


# -- names, from the README ---------------------------------------------------------------------

@dataclass
class Names:
    """ASCII names in the sequential or indexed scheme, with renamed letters."""

    inputs: int
    sizes: list[int]
    shared: bool
    indexed: bool
    pre_letter: str = "z"
    act_letter: str = ""
    loss_letter: str = "E"
    target_letter: str = "t"
    input_letter: str = "x"
    weight_no: dict[tuple[int, int, int], int] = field(default_factory=dict)
    bias_no: dict[tuple[int, int], int] = field(default_factory=dict)
    hidden_no: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = b = h = 0
        fan_in = self.inputs
        for layer, size in enumerate(self.sizes, start=1):
            for j in range(1, size + 1):
                if layer < len(self.sizes):
                    h += 1
                    self.hidden_no[layer, j] = h
                for k in range(1, fan_in + 1):
                    w += 1
                    self.weight_no[layer, j, k] = w
                if not self.shared or j == 1:
                    b += 1
                self.bias_no[layer, j] = b
            fan_in = size

    @property
    def outputs(self) -> int:
        return self.sizes[-1]

    def x(self, k: int) -> str:
        return f"{self.input_letter}[{k}]" if self.indexed else f"{self.input_letter}{k}"

    def t(self, j: int) -> str:
        if self.indexed:
            return f"{self.target_letter}[{j}]"
        return self.target_letter if self.outputs == 1 else f"{self.target_letter}{j}"

    def w(self, layer: int, j: int, k: int) -> str:
        return f"w({layer})[{j},{k}]" if self.indexed else f"w{self.weight_no[layer, j, k]}"

    def b(self, layer: int, j: int) -> str:
        if not self.indexed:
            return f"b{self.bias_no[layer, j]}"
        return f"b({layer})" if self.shared else f"b({layer})[{j}]"

    def _unit(self, layer: int, j: int) -> str:
        if layer < len(self.sizes):
            return f"h{self.hidden_no[layer, j]}"
        return "o" if self.outputs == 1 else f"o{j}"

    def z(self, layer: int, j: int) -> str:
        if self.indexed:
            return f"{self.pre_letter}({layer})[{j}]"
        return f"{self.pre_letter}_{self._unit(layer, j)}"

    def a(self, layer: int, j: int) -> str:
        if self.indexed:
            return f"{self.act_letter or 'a'}({layer})[{j}]"
        if self.act_letter:
            return f"{self.act_letter}_{self._unit(layer, j)}"
        if layer < len(self.sizes):
            return self._unit(layer, j)
        return "yhat" if self.outputs == 1 else f"yhat{j}"

    def d(self, name: str) -> str:
        return f"d{self.loss_letter}/d{name}"


def parameter_names(n: Names) -> list[str]:
    """Every weight and bias, unit by unit (a shared bias once, after its layer's first unit)."""
    out: list[str] = []
    fan_in = n.inputs
    for layer, size in enumerate(n.sizes, start=1):
        for j in range(1, size + 1):
            out.extend(n.w(layer, j, k) for k in range(1, fan_in + 1))
            if n.b(layer, j) not in out:
                out.append(n.b(layer, j))
        fan_in = size
    return out


# -- the network ----------------------------------------------------------------------------------

@dataclass
class Layer:
    units: int
    activation: str
    slope: Any


@dataclass
class Pass:
    """One example's forward pass: z and a per layer (layer 0 = the inputs, no z)."""

    z: list[list[Any]]
    a: list[list[Any]]
    loss: Any


#: activations that map rationals to rationals
RATIONAL = ("identity", "relu", "leaky_relu")


@dataclass
class Result:
    values: dict[str, Any]
    history: list[Any]
    decimals: int
    #: the names whose value is rational by construction: spec values, and what sums, products
    #: and quotients of them give through identity, relu and leaky_relu units and a squared loss
    rational: set[str] = field(default_factory=set)
    #: with an [optimizer] table: per step 1..steps, every gradient, optimizer state and updated
    #: parameter (export's ``optimizer.steps``)
    steps: list[dict[str, Any]] = field(default_factory=list)


#: PyTorch's documented defaults (torch.optim.SGD/RMSprop/Adam/AdamW), except momentum's (0.9, since
#: PyTorch's 0 is plain SGD); the ASCII names of the README's "Optimizers" section
OPTIMIZER_DEFAULTS = {"beta1": "0.9", "beta2": "0.999", "alpha": "0.99", "epsilon": "1e-8", "momentum": "0.9"}
USED = {"sgd": (), "momentum": ("momentum",), "rmsprop": ("alpha", "epsilon"), "adam": ("beta1", "beta2", "epsilon")}
LEAF = {"beta1": "beta1", "beta2": "beta2", "alpha": "alpha", "epsilon": "epsilon", "momentum": "mu",
        "weight_decay": "lambda"}


@dataclass
class Optimizer:
    """One update rule with its state, written from PyTorch's algorithm boxes (no engine code)."""

    name: str = "sgd"
    hyper: dict[str, Any] = field(default_factory=dict)
    nesterov: bool = False
    decay: Any = 0
    decoupled: bool = False
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, table: dict[str, Any]) -> Optimizer:
        name = table.get("name", "sgd")
        hyper = {k: number(str(table.get(k, OPTIMIZER_DEFAULTS[k]))) for k in USED[name]}
        decoupled = table.get("decoupled", False)
        decay = number(str(table.get("weight_decay", "0.01" if name == "adam" and decoupled else "0")))
        return cls(name, hyper, table.get("nesterov", False), decay, decoupled)

    def leaves(self) -> dict[str, Any]:
        out = {LEAF[k]: v for k, v in self.hyper.items()}
        if self.decay:
            out["lambda"] = self.decay
        if self.name == "adam":
            out["step"] = CTX.mpf(1)
        return out

    def step(self, p: str, theta: Any, grad: Any, t: int, eta: Any) -> tuple[Any, dict[str, Any]]:
        """The parameter after step ``t`` and the named quantities of that step."""
        seen: dict[str, Any] = {}
        g = grad
        if self.decay and not self.decoupled:  # L2 term decay/2 theta^2 in the loss
            g = grad + self.decay * theta
            seen[f"g_{p}"] = g
        h = self.hyper
        if self.name == "sgd":
            move = g
        elif self.name == "momentum":  # b_t = mu b_{t-1} + g_t, b_0 = 0 (then b_1 = g_1, as PyTorch)
            b = h["momentum"] * self.state.get(("v", p), 0) + g
            self.state[("v", p)] = seen[f"v_{p}"] = b
            move = g + h["momentum"] * b if self.nesterov else b
        elif self.name == "rmsprop":
            v = h["alpha"] * self.state.get(("s", p), 0) + (1 - h["alpha"]) * g * g
            self.state[("s", p)] = seen[f"s_{p}"] = v
            move = g / (CTX.sqrt(v) + h["epsilon"])
        else:  # adam
            m = h["beta1"] * self.state.get(("m", p), 0) + (1 - h["beta1"]) * g
            v = h["beta2"] * self.state.get(("v", p), 0) + (1 - h["beta2"]) * g * g
            self.state[("m", p)], self.state[("v", p)] = m, v
            m_hat, v_hat = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
            seen.update({f"m_{p}": m, f"v_{p}": v, f"mhat_{p}": m_hat, f"vhat_{p}": v_hat})
            move = m_hat / (CTX.sqrt(v_hat) + h["epsilon"])
        if self.decay and self.decoupled:  # AdamW: theta <- theta - eta lambda theta, then the step
            theta = theta - eta * self.decay * theta
        return theta - eta * move, seen

    def previous(self, p: str) -> list[str]:
        """The names of the states before the first step (all 0)."""
        kinds = {"sgd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "v")}[self.name]
        return [f"{k}_{p}-" for k in kinds]


class Oracle:
    """Everything ``export`` reports, computed from the spec text alone."""

    def __init__(self, text: str):
        data = tomllib.loads(text, parse_float=str)
        net = data["network"]
        notation = data.get("notation", {})
        self.layers = [Layer(d["units"], d.get("activation", "sigmoid"),
                             number(d.get("slope", "0.01")) if d.get("activation") == "leaky_relu" else None)
                       for d in net["layers"]]
        self.names = Names(
            net["inputs"], [layer.units for layer in self.layers], net.get("bias", "per_neuron") == "shared",
            notation.get("scheme", "sequential") == "indexed", notation.get("pre", "z"), notation.get("act", ""),
            notation.get("loss", "E"), notation.get("target", "t"), notation.get("input", "x"))
        self.loss_name = data.get("loss", "half_sse")
        self.mean = data.get("reduction", "sum") == "mean"
        self.steps = data.get("steps", 1)
        self.decimals = data.get("decimals", 3)
        self.eta = number(data["learning_rate"])
        self.optimizer = Optimizer.of(data["optimizer"]) if "optimizer" in data else None
        self.t = 0
        n = self.names
        self.params = {name: number(data["parameters"][name]) for name in self.parameter_names()}
        self.frozen: set[str] = set()
        for item in net.get("frozen", []):
            if item in ("biases", "weights"):
                self.frozen.update(p for p in self.params if p.startswith(item[0]))
            else:
                self.frozen.add(item)
        self.examples = [([number(ex[n.x(k)]) for k in range(1, n.inputs + 1)],
                          [number(ex[n.t(j)]) for j in range(1, n.outputs + 1)]) for ex in data["examples"]]

    def parameter_names(self) -> list[str]:
        return parameter_names(self.names)

    # -- forward and backward ---------------------------------------------------------------------
    def forward(self, params: dict[str, Any], inputs: list[Any], targets: list[Any]) -> Pass:
        n = self.names
        zs: list[list[Any]] = [[]]
        acts: list[list[Any]] = [inputs]
        for layer_no, layer in enumerate(self.layers, start=1):
            prev = acts[-1]
            z = [CTX.fsum(params[n.w(layer_no, j, k)] * prev[k - 1] for k in range(1, len(prev) + 1))
                 + params[n.b(layer_no, j)] for j in range(1, layer.units + 1)]
            if layer.activation == "softmax":
                top = max(z)
                e = [CTX.exp(v - top) for v in z]
                total = CTX.fsum(e)
                a = [v / total for v in e]
            else:
                a = [activate(layer.activation, v, layer.slope) for v in z]
            zs.append(z)
            acts.append(a)
        return Pass(zs, acts, self.example_loss(acts[-1], targets))

    def example_loss(self, y: list[Any], t: list[Any]) -> Any:
        pairs = list(zip(y, t, strict=True))
        if self.loss_name == "half_sse":
            return CTX.fsum((p - q) ** 2 for p, q in pairs) / 2
        if self.loss_name == "mse":
            return CTX.fsum((p - q) ** 2 for p, q in pairs) / len(pairs)
        if self.loss_name == "bce":
            return -CTX.fsum(q * CTX.log(p) + (1 - q) * CTX.log(1 - p) for p, q in pairs)
        if self.loss_name == "cross_entropy":
            return -CTX.fsum(q * CTX.log(p) for p, q in pairs if q != 0)
        raise ValueError(f"unknown loss {self.loss_name!r}")

    def loss_slope(self, y: list[Any], t: list[Any]) -> list[Any]:
        """d(example loss)/d y_j."""
        pairs = list(zip(y, t, strict=True))
        if self.loss_name == "half_sse":
            return [p - q for p, q in pairs]
        if self.loss_name == "mse":
            return [2 * (p - q) / len(pairs) for p, q in pairs]
        if self.loss_name == "bce":
            return [-q / p + (1 - q) / (1 - p) for p, q in pairs]
        return [-q / p for p, q in pairs]  # cross_entropy

    def backward(self, params: dict[str, Any], fwd: Pass, t: list[Any], scale: Any
                 ) -> tuple[list[list[Any]], list[list[Any]]]:
        """dE/da and dE/dz per layer (index 0 unused) for one example; E = scale * sum of losses."""
        n, depth = self.names, len(self.layers)
        d_a: list[list[Any]] = [[] for _ in range(depth + 1)]
        d_z: list[list[Any]] = [[] for _ in range(depth + 1)]
        d_a[depth] = [scale * g for g in self.loss_slope(fwd.a[depth], t)]
        for layer_no in range(depth, 0, -1):
            layer, z, a = self.layers[layer_no - 1], fwd.z[layer_no], fwd.a[layer_no]
            if layer_no < depth:
                above = self.layers[layer_no].units
                d_a[layer_no] = [CTX.fsum(d_z[layer_no + 1][i - 1] * params[n.w(layer_no + 1, i, j)]
                                          for i in range(1, above + 1)) for j in range(1, layer.units + 1)]
            g = d_a[layer_no]
            if layer.activation == "softmax":
                dot = CTX.fsum(gk * ak for gk, ak in zip(g, a, strict=True))
                d_z[layer_no] = [aj * (gj - dot) for gj, aj in zip(g, a, strict=True)]
            else:
                d_z[layer_no] = [gj * slope_of(layer.activation, zj, aj, layer.slope)
                                 for gj, zj, aj in zip(g, z, a, strict=True)]
        return d_a, d_z

    def gradients(self, params: dict[str, Any], passes: list[Pass], deltas: list[list[list[Any]]]
                  ) -> dict[str, Any]:
        n, grads = self.names, {name: CTX.mpf(0) for name in params}
        for fwd, d_z in zip(passes, deltas, strict=True):
            for layer_no, layer in enumerate(self.layers, start=1):
                for j in range(1, layer.units + 1):
                    delta = d_z[layer_no][j - 1]
                    for k, a_k in enumerate(fwd.a[layer_no - 1], start=1):
                        grads[n.w(layer_no, j, k)] += delta * a_k
                    grads[n.b(layer_no, j)] += delta
        return grads

    def step(self, params: dict[str, Any]) -> tuple[list[Pass], Any, list[Any], dict[str, Any]]:
        """Forward, loss, backward and gradients at ``params``."""
        scale = CTX.mpf(1) / len(self.examples) if self.mean else CTX.mpf(1)
        passes = [self.forward(params, x, t) for x, t in self.examples]
        loss = scale * CTX.fsum(p.loss for p in passes)
        backs = [self.backward(params, p, t, scale) for p, (_, t) in zip(passes, self.examples, strict=True)]
        grads = self.gradients(params, passes, [d_z for _, d_z in backs])
        return passes, loss, backs, grads

    def update(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        if self.optimizer is None:
            return {p: v if p in self.frozen else v - self.eta * grads[p] for p, v in params.items()}
        self.t += 1
        out, seen = {}, {}
        for p, v in params.items():
            if p in self.frozen:
                out[p] = v
            else:
                out[p], named = self.optimizer.step(p, v, grads[p], self.t, self.eta)
                seen.update(named)
        seen.update({self.names.d(p): g for p, g in grads.items()})
        seen.update({f"{p}'": v for p, v in out.items()})
        self.trail.append(seen)
        return out

    # -- every named value ------------------------------------------------------------------------
    def run(self) -> Result:
        n, values = self.names, {}
        many = len(self.examples) > 1

        def at(name: str, e: int) -> str:
            return f"{name}@{e}" if many else name

        values.update(self.params)
        values["eta"] = self.eta
        leading = next((i for i, layer in enumerate(self.layers) if layer.activation not in RATIONAL),
                       len(self.layers))  # layers 1..leading are rational
        everything = leading == len(self.layers) and self.loss_name in ("half_sse", "mse")
        for e, (x, t) in enumerate(self.examples, start=1):
            values.update({at(n.x(k), e): v for k, v in enumerate(x, start=1)})
            values.update({at(n.t(j), e): v for j, v in enumerate(t, start=1)})
        rational = set(values)
        passes, loss, backs, grads = self.step(self.params)
        values[n.loss_letter] = loss
        for e, (fwd, (d_a, d_z)) in enumerate(zip(passes, backs, strict=True), start=1):
            for layer_no, layer in enumerate(self.layers, start=1):
                for j in range(1, layer.units + 1):
                    values[at(n.z(layer_no, j), e)] = fwd.z[layer_no][j - 1]
                    values[at(n.a(layer_no, j), e)] = fwd.a[layer_no][j - 1]
                    if layer_no <= leading + 1:
                        rational.add(at(n.z(layer_no, j), e))
                    if layer_no <= leading:
                        rational.add(at(n.a(layer_no, j), e))
                    values[n.d(at(n.a(layer_no, j), e))] = d_a[layer_no][j - 1]
                    values[n.d(at(n.z(layer_no, j), e))] = d_z[layer_no][j - 1]
        values.update({n.d(p): g for p, g in grads.items()})
        self.trail: list[dict[str, Any]] = []
        if self.optimizer is not None:
            leaves = self.optimizer.leaves()
            leaves.update({s: CTX.mpf(0) for p in self.params if p not in self.frozen
                           for s in self.optimizer.previous(p)})
            values.update(leaves)
            rational.update(leaves)
        params = self.update(self.params, grads)
        values.update(self.trail[0] if self.trail else {})
        if self.optimizer is not None and everything and self.optimizer.name in ("sgd", "momentum"):
            rational.update(self.trail[0])
        values.update({f"{p}'": v for p, v in params.items()})
        rational.update(f"{p}'" for p in self.frozen)
        history = [loss]
        for k in range(self.steps):
            passes, loss, _, grads = self.step(params)
            history.append(loss)
            if k == 0:
                values[f"{n.loss_letter}'"] = loss
                for e, fwd in enumerate(passes, start=1):
                    for layer_no, layer in enumerate(self.layers, start=1):
                        for j in range(1, layer.units + 1):
                            values[at(n.z(layer_no, j), e) + "'"] = fwd.z[layer_no][j - 1]
                            values[at(n.a(layer_no, j), e) + "'"] = fwd.a[layer_no][j - 1]
            params = self.update(params, grads)
        if everything and (self.optimizer is None or self.optimizer.name in ("sgd", "momentum")):
            rational = set(values)
        return Result(values, history, self.decimals, rational, self.trail[:self.steps])


def evaluate(text: str) -> Result:
    """Every quantity of ``symbackprop export`` for the spec ``text``, and the loss history."""
    return Oracle(text).run()


HALF, TIE_DISTANCE = CTX.mpf(0.5), CTX.mpf("1e-40")


@functools.cache
def _power_of_ten(decimals: int) -> Any:
    """10**decimals, made once (display runs for every value of every oracle network)."""
    return CTX.mpf(10) ** decimals


def display(value: Any, decimals: int) -> tuple[str, bool]:
    """The README's display rule, written here: half-up (away from zero) to ``decimals`` places,
    never ``-0.000``.  Also says whether ``value`` sits on a tie: a value within 1e-40 of a tie
    is taken to be the exact tie (spec values are short decimals; an irrational number that
    close to a tie does not occur), which is how a rational tie computed in binary is recognised."""
    scaled = abs(value) * _power_of_ten(decimals)
    whole = int(CTX.floor(scaled))
    rest = scaled - whole
    tie = abs(rest - HALF) < TIE_DISTANCE
    units = whole + 1 if tie or rest > 0.5 else whole
    digits = str(units).rjust(decimals + 1, "0")
    text = f"{digits[:-decimals]}.{digits[-decimals:]}" if decimals else digits
    return ("-" + text if value < 0 and units else text), tie
