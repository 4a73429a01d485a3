"""Helpers for the deep image classification course (public API re-exported here)."""
