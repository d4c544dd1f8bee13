"""What a `stack {}` block of stackrun.hcl declares beyond the graph (drift checks, the Argo CD
hand-off, the AWS role), checked into plain values with errors as data. Pure, and below graph,
drift, handoff and runs: each of them reads a stack's settings from here."""
