"""CloudWatch Logs: moto, with reads that wait for the runtime's log shipping (``api``)."""
