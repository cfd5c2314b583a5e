"""Votes and polls: one ballot per visitor, counted from stored rows.

Public votes come before sessions (the December vote on which departments go online next year,
a session's theme voted from candidates); live polls (qa_live/live/polls.py) run during a
session. Both keep their ballots here (models.py, ballots.py); this package sits between
planning and live in the layers.
"""
