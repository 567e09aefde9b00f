"""Real-browser tests: one package, so its browser closes when its last test is done."""
