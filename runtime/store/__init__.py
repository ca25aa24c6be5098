"""On-disk layout and atomic writes: every file name the engine uses is defined here once."""
