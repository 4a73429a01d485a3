"""Shared pytest set-up: a non-interactive matplotlib backend for every test."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
