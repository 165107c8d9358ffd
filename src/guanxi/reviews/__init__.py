"""Annual review cycle (年度评定), grade lifecycle lists and the management dashboard
(MISSION §2), on top of the grading engine."""
