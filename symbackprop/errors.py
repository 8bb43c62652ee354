"""Every error symbackprop reports to a user derives from SymbackpropError.

The CLI catches the base class, prints its message on one line and exits with
``exit_code``; library users can catch the specific subclasses.
"""

from __future__ import annotations


class SymbackpropError(Exception):
    """Base class: the message is one line, meant for the user.

    ``setting`` names the API argument or setting (``"variants"``) that the message starts
    with; only the CLI knows flags, and it may put the flag (``--variants``) in its place.
    """

    exit_code = 2

    def __init__(self, message: str = "", *, setting: str = "") -> None:
        super().__init__(message)
        self.setting = setting if setting and message.startswith(setting) else ""


class SpecError(SymbackpropError):
    """The network spec is invalid (names the field and the problem)."""


class AnswerError(SymbackpropError):
    """An answers file or a formula the user typed is invalid."""


class ExamError(SymbackpropError):
    """Bad exam settings, a bad roster, or constraints no draw can meet."""


class UsageError(SymbackpropError):
    """A command-line flag or argument is invalid."""


class LatexMissingError(SymbackpropError):
    """No TeX installation was found."""


class LatexBuildError(SymbackpropError):
    """LaTeX failed on a generated document."""


class DerivationMismatch(SymbackpropError):
    """SymPy's gradient and the chain-rule formula disagree: always an error."""

    exit_code = 1


class OutputError(SymbackpropError):
    """An output file or folder cannot be written (names the path and the problem)."""
