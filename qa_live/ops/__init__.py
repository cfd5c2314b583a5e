"""Operations: health, readiness, Prometheus metrics and backups of one worker."""
