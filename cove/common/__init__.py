"""What the engine and the desktop client both need: pure, stdlib-only, any OS.

``desktop/`` may not import ``runtime/`` (it runs on macOS and Windows), so logic the
two share — Docker's reference grammar, its stream framing, its human units — lives
here once.
"""
