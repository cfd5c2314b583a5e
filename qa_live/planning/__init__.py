"""Departments, the year's plan, scheduling and announcing sessions, questions in advance."""
