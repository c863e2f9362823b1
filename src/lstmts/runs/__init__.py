"""Run folders: running one experiment into one, reading them back, comparing them, sweeps."""
