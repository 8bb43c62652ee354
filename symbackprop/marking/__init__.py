"""Marking: read a student's answers file, parse what they typed safely, mark it, report the marks."""
