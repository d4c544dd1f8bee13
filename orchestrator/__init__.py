"""stackrun orchestrator: webhooks, graph, runs, policies, API."""
