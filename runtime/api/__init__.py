"""The HTTP side of ``coved``: the server on the Unix socket, route tables, thin handlers, stream framing."""
