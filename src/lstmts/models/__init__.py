"""The Keras network, the engines that train it, and the recursive forecaster."""
