"""Frozen value types shared by the loader, the engine and the views."""
