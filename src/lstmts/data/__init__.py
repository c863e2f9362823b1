"""Series in, model-ready windows out: reading and checking CSVs, invertible transforms, framing."""
