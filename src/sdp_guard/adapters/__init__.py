"""Thin I/O adapters: each turns one outside source into core records (or writes a plan out)."""
