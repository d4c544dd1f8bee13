"""stackrun graph package."""
