"""Who may approve a run, and what approving does."""
