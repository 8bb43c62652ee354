"""Exams: fair randomized variants of one exercise, with sheets, keys, answers files and LMS exports."""
