"""The HTTP API: one blueprint per resource, and how routes are declared."""
