"""Cooperation status: the colour ladder, monthly updates, downgrades with plans, special
reviews and the upgrade leaderboard (MISSION §3)."""
