"""lstmts: run, sweep and compare LSTM time-series forecasting experiments."""

__version__ = "0.1.0"

import time as _time

# When this process first imported lstmts: a run's import phase counts from here. (Not the
# process's start: `bash -c "pip install ... && lstmts"` execs lstmts in the shell's own process,
# whose age then includes the install.)
STARTED = _time.perf_counter()
