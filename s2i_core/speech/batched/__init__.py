"""The parts of the batched torch engine (see ../torch_batched_engine.py)."""
