"""What operators watch: Prometheus instruments (metrics) and the log lines' format and context (logs).
It depends on nothing of the service, so that every layer may record what it does."""
