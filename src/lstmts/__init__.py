"""lstmts: run, sweep and compare LSTM time-series forecasting experiments."""

__version__ = "0.1.0"
