"""Marking: read what students typed without eval, mark it as an examiner would (one student or a
class), and report the marks."""
