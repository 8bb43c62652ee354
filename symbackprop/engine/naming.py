"""Names of every quantity: the ASCII name users type and the LaTeX a lecture prints.

Two schemes:

* ``sequential`` (the lecture's): inputs ``x1 x2``, hidden units ``h1 h2 ...``
  numbered across all hidden layers with pre-activations ``z_h1``, the output
  ``yhat`` with pre-activation ``z_o`` (``yhat1 yhat2``/``z_o1 z_o2`` when there
  are several), target ``t`` (``t1 t2``), weights ``w1 w2 ...`` numbered unit by
  unit (all weights into the first unit, then the next), biases ``b1 b2 ...``.
* ``indexed`` (any network): inputs ``x[k]``, layer ``l`` units ``z(l)[j]`` and
  ``a(l)[j]``, weights ``w(l)[j,k]`` from unit ``k`` of layer ``l-1`` to unit
  ``j`` of layer ``l``, biases ``b(l)[j]`` (``b(l)`` when shared), targets ``t[j]``.

Derived names: ``dE/d<name>`` for a derivative of the loss, ``<name>'`` for the
value after the update, ``<name>@2`` for example 2 when a spec has several; an optimizer's
quantities of a parameter are ``m_<name>`` (its state after the step) and ``m_<name>-`` (before).  Each
`Name` remembers what it derives from, so code looks them up (``Network.updated``,
``Network.grad``, ``Name.base``) instead of building or cutting strings; only
this module spells them.
Textbook renames (``pre = "net"``, ``act = "out"``, ``loss = "L"``,
``target = "y"``) change the letters, never the structure.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMES = ("sequential", "indexed")


@dataclass(frozen=True)
class Notation:
    scheme: str = "sequential"
    pre: str = "z"  # pre-activation letter(s): z, net
    act: str = ""  # activation letter(s); "" = the lecture's h/yhat (sequential) or a (indexed)
    loss: str = "E"
    target: str = "t"
    input: str = "x"


@dataclass(frozen=True)
class Name:
    """One quantity's typed id: the ASCII name users type, the LaTeX symbol a page prints, and for a
    derived name what it derives from and how (so code asks for ``w5'`` by ``w5``, never builds it)."""

    ascii: str
    latex: str
    #: how it derives from ``of``: "grad" (``dE/dw5``), "updated" (``w5'``), "example" (``z_o@2``);
    #: "" for a plain name
    how: str = ""
    of: Name | None = None

    @property
    def base(self) -> Name:
        """The plain name under the example mark and the prime: ``z_o`` for ``z_o@2'`` (a gradient is its own)."""
        name = self
        while name.how in ("updated", "example") and name.of is not None:
            name = name.of
        return name


#: the learning rate's quantity (a leaf every spec has)
LEARNING_RATE = Name("eta", r"\eta")
#: an ``[optimizer]`` table's hyperparameters, by its field names (leaves of such a spec)
HYPERPARAMETERS = {"beta1": Name("beta1", r"\beta_{1}"), "beta2": Name("beta2", r"\beta_{2}"),
                   "alpha": Name("alpha", r"\alpha"), "epsilon": Name("epsilon", r"\epsilon"),
                   "momentum": Name("mu", r"\mu"), "weight_decay": Name("lambda", r"\lambda")}
#: the optimizer's step counter t (a leaf: 1 in the graph, counted up by the k-step run)
STEP = Name("step", "t")
#: an optimizer's per-parameter quantities: ASCII prefix -> LaTeX letter
#: (g: the gradient with the L2 term; v: velocity or second moment; s: RMSprop's mean square)
STATE_LETTERS = {"g": "g", "v": "v", "s": "s", "m": "m", "mhat": r"\hat{m}", "vhat": r"\hat{v}"}


def _letters(text: str) -> str:
    """A multi-letter symbol is upright (\\mathrm{net}); one letter stays italic."""
    return text if len(text) == 1 else rf"\mathrm{{{text}}}"


def _sub(*indices: int) -> str:
    if all(i < 10 for i in indices):
        return "".join(str(i) for i in indices)
    return ",".join(str(i) for i in indices)


class Namer:
    """Every name of one network shape under one notation."""

    def __init__(self, n_inputs: int, layer_sizes: list[int], shared_bias: bool, notation: Notation):
        self.n_inputs = n_inputs
        self.layer_sizes = layer_sizes
        self.shared_bias = shared_bias
        self.notation = notation
        self.n_layers = len(layer_sizes)
        self.n_outputs = layer_sizes[-1]
        # sequential numbering of hidden units across hidden layers, and of weights/biases
        self._hidden_number: dict[tuple[int, int], int] = {}
        n = 0
        for layer, size in enumerate(layer_sizes[:-1], start=1):
            for j in range(1, size + 1):
                n += 1
                self._hidden_number[(layer, j)] = n
        self._weight_number: dict[tuple[int, int, int], int] = {}
        self._bias_number: dict[tuple[int, int], int] = {}
        w = b = 0
        fan_in = n_inputs
        for layer, size in enumerate(layer_sizes, start=1):
            for j in range(1, size + 1):
                for k in range(1, fan_in + 1):
                    w += 1
                    self._weight_number[(layer, j, k)] = w
                if not shared_bias:
                    b += 1
                    self._bias_number[(layer, j)] = b
            if shared_bias:
                b += 1
                for j in range(1, size + 1):
                    self._bias_number[(layer, j)] = b
            fan_in = size

    @property
    def sequential(self) -> bool:
        return self.notation.scheme == "sequential"

    # -- leaves ---------------------------------------------------------------
    def input(self, k: int) -> Name:
        x = self.notation.input
        if self.sequential:
            return Name(f"{x}{k}", rf"{_letters(x)}_{{{k}}}")
        return Name(f"{x}[{k}]", rf"{_letters(x)}_{{{k}}}")

    def target(self, j: int) -> Name:
        t = self.notation.target
        if self.sequential:
            if self.n_outputs == 1:
                return Name(t, _letters(t))
            return Name(f"{t}{j}", rf"{_letters(t)}_{{{j}}}")
        return Name(f"{t}[{j}]", rf"{_letters(t)}_{{{j}}}")

    def weight(self, layer: int, j: int, k: int) -> Name:
        if self.sequential:
            n = self._weight_number[(layer, j, k)]
            return Name(f"w{n}", rf"w_{{{n}}}")
        return Name(f"w({layer})[{j},{k}]", rf"w^{{({layer})}}_{{{_sub(j, k)}}}")

    def bias(self, layer: int, j: int) -> Name:
        if self.sequential:
            n = self._bias_number[(layer, j)]
            return Name(f"b{n}", rf"b_{{{n}}}")
        if self.shared_bias:
            return Name(f"b({layer})", rf"b^{{({layer})}}")
        return Name(f"b({layer})[{j}]", rf"b^{{({layer})}}_{{{j}}}")

    # -- units ----------------------------------------------------------------
    def _unit_label(self, layer: int, j: int) -> tuple[str, str]:
        """Sequential label of a unit: ('h1', 'h_{1}') or ('o', 'o') / ('o2', 'o_{2}')."""
        if layer < self.n_layers:
            n = self._hidden_number[(layer, j)]
            return f"h{n}", rf"h_{{{n}}}"
        if self.n_outputs == 1:
            return "o", "o"
        return f"o{j}", rf"o_{{{j}}}"

    def pre(self, layer: int, j: int) -> Name:
        p = self.notation.pre
        if self.sequential:
            label, label_tex = self._unit_label(layer, j)
            return Name(f"{p}_{label}", rf"{_letters(p)}_{{{label_tex}}}")
        return Name(f"{p}({layer})[{j}]", rf"{_letters(p)}^{{({layer})}}_{{{j}}}")

    def act(self, layer: int, j: int) -> Name:
        a = self.notation.act
        if self.sequential:
            label, label_tex = self._unit_label(layer, j)
            if a:
                return Name(f"{a}_{label}", rf"{_letters(a)}_{{{label_tex}}}")
            if layer < self.n_layers:
                return Name(label, label_tex)
            if self.n_outputs == 1:
                return Name("yhat", r"\hat{y}")
            return Name(f"yhat{j}", rf"\hat{{y}}_{{{j}}}")
        a = a or "a"
        return Name(f"{a}({layer})[{j}]", rf"{_letters(a)}^{{({layer})}}_{{{j}}}")

    def loss(self) -> Name:
        e = self.notation.loss
        return Name(e, _letters(e))

    # -- derived names ----------------------------------------------------------
    def grad(self, of: Name) -> Name:
        e = self.notation.loss
        return Name(f"d{e}/d{of.ascii}", rf"\frac{{\partial {_letters(e)}}}{{\partial {of.latex}}}", "grad", of)

    @staticmethod
    def updated(of: Name) -> Name:
        # after a superscript (example 2: {\hat{y}}^{\langle 2\rangle}) a bare ' is a "Double
        # superscript" error in amsmath; an empty atom before the prime avoids it
        prime = "{}'" if "^" in of.latex else "'"
        return Name(f"{of.ascii}'", rf"{{{of.latex}}}{prime}", "updated", of)

    @staticmethod
    def state(kind: str, of: Name, previous: bool = False) -> Name:
        """An optimizer's quantity of one parameter: ``m_w5`` (m_{w_5}), before the step ``m_w5-`` (m_{w_5}^{-})."""
        letter = STATE_LETTERS[kind]
        if previous:
            return Name(f"{kind}_{of.ascii}-", rf"{letter}^{{-}}_{{{of.latex}}}", f"previous {kind}", of)
        return Name(f"{kind}_{of.ascii}", rf"{letter}_{{{of.latex}}}", kind, of)

    @staticmethod
    def for_example(of: Name, example: int, n_examples: int) -> Name:
        """Per-example quantities carry ``@e`` when a spec has several examples."""
        if n_examples == 1:
            return of
        return Name(f"{of.ascii}@{example}", rf"{{{of.latex}}}^{{\langle {example}\rangle}}", "example", of)
