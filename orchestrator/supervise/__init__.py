"""`stackrun up`'s supervisor: its API, worker and beat kept running (DESIGN §9)."""
