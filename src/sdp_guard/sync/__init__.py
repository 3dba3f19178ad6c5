"""Applying sync plans: the REST API run, the offline-DB run, backups and the lock."""
