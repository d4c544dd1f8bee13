"""stackrun workers: Celery tasks that run Terraform."""
