"""Running Rumbo: request middleware (ids, security headers), metrics, logs,
health checks and retention. See docs/operations.md."""
