"""Statistics: the figures of docs/metrics.md per session, department and year; reports, exports."""
