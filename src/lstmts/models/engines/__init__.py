"""Training engines: the same Adam updates, made by XLA, by fused kernels or by Keras' own fit."""
