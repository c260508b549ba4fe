"""Adapters: each implements a domain's port over AWS, a file system or an engine."""
