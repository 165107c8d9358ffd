"""Grading: the scoring model as policy, set-based batch grading, explanations, the annual
review cycle, lifecycle lists and what-if simulation (MISSION §2)."""
