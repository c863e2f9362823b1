"""Scoring in original units: metrics, naive and classical baselines, horizons, always on the same targets."""
