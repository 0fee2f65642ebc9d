"""The bot's health in numbers: Prometheus metrics, health answers, structured logs."""
