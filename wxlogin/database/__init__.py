"""Database plumbing: engine settings, the per-request time budget, retries."""
