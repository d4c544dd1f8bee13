"""Reporting proposed runs back to the VCS: commit statuses and one PR/MR comment per pipeline."""
