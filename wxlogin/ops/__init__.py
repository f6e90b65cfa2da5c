"""Running it: the request log, metrics, the method override and the gunicorn worker."""
