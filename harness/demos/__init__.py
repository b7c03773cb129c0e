"""The demos of `make demo`: one module per lab, labNN.py, with its EXPERIMENTS."""
