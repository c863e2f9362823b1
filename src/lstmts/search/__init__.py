"""The automatic LSTM: configurations searched on validation, the best ones ensembled."""
