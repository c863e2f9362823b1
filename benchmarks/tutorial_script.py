"""The tutorial's regression experiment as one plain Keras 3 script: the whole-process reference.

Everything the tutorial does, in its order: read the CSV, min-max scale the whole series, split
67/33, frame with the off-by-one, LSTM(4) -> Dense(1), fit(epochs=100, batch_size=1), predict,
unscale, RMSE, plot. The plot is saved instead of shown, and fit is silent, so that the timing
measures the work and not a terminal.

    python benchmarks/tutorial_script.py [--epochs 100] [--plot out.png]
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import mean_squared_error  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"


def frame(series: np.ndarray, look_back: int):
    inputs, targets = [], []
    for i in range(len(series) - look_back - 1):
        inputs.append(series[i : i + look_back, 0])
        targets.append(series[i + look_back, 0])
    return np.array(inputs), np.array(targets)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plot", default=os.devnull + ".png")
    args = parser.parse_args()
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    values = pd.read_csv(DATA, usecols=[1]).values.astype("float32")
    scaler = MinMaxScaler(feature_range=(0, 1))
    scaled = scaler.fit_transform(values)
    train_size = int(len(scaled) * 0.67)
    train, test = scaled[:train_size], scaled[train_size:]
    look_back = 1
    train_x, train_y = frame(train, look_back)
    test_x, test_y = frame(test, look_back)
    train_x = train_x.reshape(train_x.shape[0], 1, train_x.shape[1])
    test_x = test_x.reshape(test_x.shape[0], 1, test_x.shape[1])

    model = keras.Sequential([keras.Input(shape=(1, look_back)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    fit_start = time.perf_counter()
    model.fit(train_x, train_y, epochs=args.epochs, batch_size=1, verbose=0)
    train_seconds = time.perf_counter() - fit_start

    train_predict = scaler.inverse_transform(model.predict(train_x, verbose=0))
    test_predict = scaler.inverse_transform(model.predict(test_x, verbose=0))
    train_rmse = np.sqrt(mean_squared_error(scaler.inverse_transform([train_y])[0], train_predict[:, 0]))
    test_rmse = np.sqrt(mean_squared_error(scaler.inverse_transform([test_y])[0], test_predict[:, 0]))

    train_plot = np.full_like(scaled, np.nan)
    train_plot[look_back : len(train_predict) + look_back, :] = train_predict
    test_plot = np.full_like(scaled, np.nan)
    test_plot[len(train_predict) + (look_back * 2) + 1 : len(scaled) - 1, :] = test_predict
    plt.plot(scaler.inverse_transform(scaled))
    plt.plot(train_plot)
    plt.plot(test_plot)
    plt.savefig(args.plot)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train_rmse={train_rmse:.4f} test_rmse={test_rmse:.4f} train_seconds={train_seconds:.3f}"
          f" script_seconds={time.perf_counter() - start:.3f} peak_mib={peak_mib:.0f}", file=sys.stdout)


if __name__ == "__main__":
    main()
