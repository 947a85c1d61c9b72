"""Operations: health, readiness and Prometheus metrics."""
