"""Every test process hears run events as the API and the workers do."""

from orchestrator import subscribers

subscribers.install()
