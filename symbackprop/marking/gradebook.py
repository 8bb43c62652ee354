"""The class's points as a gradebook CSV a platform imports: Moodle (grade import, matched by ID
number or e-mail) or Canvas (the gradebook's own columns).

Moodle's "Import grades > CSV file" lets the teacher map one column to a user field (``useridnumber``,
``useremail``, ...; a row whose mapped cell is empty is skipped: grade/import/csv/classes/load_data.php
``map_user_data_with_value``): the file has both ``ID number`` and ``Email address`` (a roster id with
an ``@`` is taken for an e-mail), so either mapping works.
Canvas's gradebook is written as its exporter writes it (instructure/canvas-lms
lib/gradebook_exporter.rb: ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>``, then a
``    Points Possible`` row) and its importer reads it (lib/gradebook_importer.rb: ``Student`` and
``ID`` first, ``SIS User ID`` and ``SIS Login ID`` after them, ``Section`` the last student column;
a row matched by ID, then SIS User ID, then SIS Login ID; the ``Points Possible`` row sets a new
assignment's points).  Points are exact, shown with 2 decimals (half-up, the project's one rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ..engine.numbers import display
from ..io.usertext import csv_text
from .classmarks import Marked

__all__ = ["GRADEBOOKS", "gradebook_csv", "points_text"]

GRADEBOOKS = ("moodle", "canvas")


def points_text(points: Fraction) -> str:
    return display(points, 2)


def _email(m: Marked) -> str:
    if m.who.email:
        return m.who.email
    return m.student_id if "@" in m.student_id else ""


def _id_number(m: Marked) -> str:
    if m.who.id_number:
        return m.who.id_number
    return "" if "@" in m.student_id else m.student_id


def _name(m: Marked) -> str:
    """The student's name; a set without a roster knows only the variant (``variant 005``): a platform cannot
    match that row, but a teacher can (``mark`` says so)."""
    return m.name or ("" if m.student_id else f"variant {m.variant}")


def gradebook_csv(marked: Sequence[Marked], kind: str, assignment: str) -> str:
    """The gradebook file of ``kind`` (``moodle`` or ``canvas``), one row per marked student."""
    if kind == "moodle":
        return csv_text(["ID number", "Email address", "Full name", assignment],
                        ([_id_number(m), _email(m), _name(m), points_text(m.points)] for m in marked))
    possible = [["    Points Possible", "", "", "", "", points_text(max(m.possible for m in marked))]] if marked else []
    return csv_text(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment],
                    possible + [[_name(m), m.who.canvas_id, m.who.sis_id or _id_number(m), _email(m), m.who.section,
                                 points_text(m.points)] for m in marked])
