"""layout.py: the greedy packer and the width measure, against hand-worked cases."""

from __future__ import annotations

from symbackprop.layout import balanced_rows, break_row, even_rows, fit_columns, join_rows, pack, tex_width


def test_pack_fills_rows_greedily_with_lead_and_continuation():
    # room 10: the first row starts at 3 (a left-hand side), later rows at 1 (a \quad)
    assert pack([4, 3, 2, 5, 5], 10, first=3, then=1) == [[0, 1], [2, 3], [4]]
    assert pack([4, 4, 4], 10, gap=2) == [[0, 1], [2]]  # 4 + 2 + 4 = 10 fits, + 2 + 4 does not
    assert pack([1] * 7, 100, most=3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert pack([50, 1], 10) == [[0], [1]]  # an item wider than the room still gets a row of its own
    assert pack([], 10) == []


def test_balanced_rows_and_columns():
    assert balanced_rows(6, 2) == [[0, 1, 2], [3, 4, 5]]
    assert balanced_rows(5, 2) == [[0, 1, 2], [3, 4]]
    # columns as wide as their widest entry over every group: 10 + 12 + 2 = 24 fits 24, three do not
    assert fit_columns([[10, 12, 9], [8, 3]], 3, 24, 2) == 2
    assert fit_columns([[30]], 3, 24, 2) == 1


def test_tex_width_counts_what_is_seen():
    assert tex_width("a + b") == 4  # a, +, b, and the spacing around the +
    assert tex_width(r"\frac{\partial E}{\partial w_{1}}") == tex_width(r"xEs") == 3  # the wider part
    assert tex_width(r"\frac{a}{b}", display=True) == 3
    # typeset, (1.03 x 10^-8) is 65 pt wide and 0.000 . 0.547 + 66 pt (13 units): it had counted 10, and a BPTT sum of
    # three such operands ran 10 pt into the margin
    assert tex_width(r"\left(1.03 \times 10^{-8}\right)") == 13 == tex_width(r"0.000 \cdot 0.547 +")
    assert join_rows("x &= ", ["a", "b", "c"], [[0, 1], [2]], sep=" + ") == ["x &= a + b", r"&\quad c"]


def test_break_row_cuts_between_terms_and_aligns_at_equals():
    row = "y &= " + " + ".join(f"a_{{{i}}}" for i in range(30)) + " = 7"
    rows = break_row(row, 30)
    assert len(rows) > 1 and all(tex_width(r) <= 30 for r in rows)
    assert rows[0].startswith("y &= a_{0}") and all(r.startswith("&") for r in rows[1:])
    assert "".join(r.replace(r"&\quad ", " ").replace("&", " ") for r in rows).split() == row.replace("&", "").split()


def test_brace_rows_even_boxes_in_balanced_rows_unless_one_label_is_very_wide():
    from symbackprop.layout import brace_rows, label_pt

    small = [(r"\frac{\partial a}{\partial b}", "w_{5}")] * 6
    one = label_pt(r"\frac{\partial a}{\partial b}", 10, 5.5) + 6
    # room for four boxes a row: six factors go 3 + 3 (not 4 + 2), every box the same width
    rows, widths = brace_rows(small, 4 * (one + 8) + 1, 10, 5.5, 6, 8)
    assert rows == [[0, 1, 2], [3, 4, 5]] and widths == [one] * 6
    # one long label (about 140 pt): boxes of its width would take six rows of 260 pt, own widths two
    wide = small[:5] + [(r"\frac{\partial a}{\partial b}", r"\max\left(0.01 z, z\right) + 0.5 \cdot x_{1} x_{2} x_{3}")]
    rows, widths = brace_rows(wide, 260, 10, 5.5, 6, 8)
    assert rows == [[0, 1, 2, 3, 4], [5]] and widths[:5] == [one] * 5 and widths[5] > 5 * one


def test_a_handouts_rows_of_values_are_filled_evenly_where_they_fit():
    """documents.rows.pack takes as many rows as the greedy packer and fills them evenly (3 + 2, not 4 + 1),
    unless an even fill would pass the width (then the greedy rows stay)."""
    from symbackprop.documents.rows import pack as pack_values
    from symbackprop.documents.rows import text_of

    def shape(items, per_row, width):
        return [text_of(row).count("=") for row in pack_values(items, per_row, width=width)]

    five = [f"x_{{{k}}} = 0.85" for k in range(1, 6)]
    four_fit = tex_width(r", \quad ".join(five[:4])) + 1
    assert shape(five, 6, four_fit) == [3, 2]  # greedy gives 4 + 1
    assert shape(five, 6, 1000) == [5]
    assert shape([f"x_{{{k}}} = 1" for k in range(1, 8)], 3, 1000) == [3, 2, 2]  # 3 + 3 + 1 by count
    assert even_rows(7, 3) == [[0, 1, 2], [3, 4], [5, 6]] and even_rows(2, 5) == [[0], [1]] and even_rows(0, 2) == []
    wide = ["w = 0.1234567890123456789012345", "a = 1", "b = 2", "c = 3"]
    room = tex_width(r", \quad ".join(wide[:1])) + 2
    assert shape(wide, 6, room) == [1, 3]  # 2 + 2 would pass the width


def test_even_pack_needs_no_more_rows_than_pack_and_fills_them_evenly():
    """A deck's frames: 8 + 5 + 1 rows greedily, 5 + 5 + 4 evenly; never more frames than greedy, never a row
    over the room, and the items in their order."""
    import random

    from symbackprop.layout import even_pack, pack

    assert [len(r) for r in pack([1] * 14, 8)] == [8, 6] and [len(r) for r in even_pack([1] * 14, 8)] == [7, 7]
    assert [len(r) for r in even_pack([1] * 17, 8)] == [6, 6, 5]
    rng = random.Random(7)
    for _ in range(300):
        widths = [rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(1, 30))]
        room, first = rng.choice([4, 6, 9]), rng.choice([0, 0, 2])
        greedy, even = pack(widths, room, first=first), even_pack(widths, room, first=first)
        assert [i for row in even for i in row] == list(range(len(widths))) and len(even) == len(greedy)
        loads = [sum(widths[i] for i in row) + (first if k == 0 else 0) for k, row in enumerate(even)]
        assert all(load <= room or len(row) == 1 for load, row in zip(loads, even, strict=True))
        assert max(loads) <= max(sum(widths[i] for i in row) + (first if k == 0 else 0)
                                 for k, row in enumerate(greedy))
