"""Tables and plots, and the atomic file writing every run folder goes through."""
