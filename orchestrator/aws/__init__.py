"""AWS for runs: the role a stack's runs assume, and the STS call that assumes it."""
