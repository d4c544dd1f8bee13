"""stackrun artifacts package."""
