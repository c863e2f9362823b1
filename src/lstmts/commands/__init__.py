"""One module per subcommand: run (Hydra runs and sweeps), compare, forecast."""
