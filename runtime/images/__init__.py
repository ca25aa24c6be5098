"""Images: references, the content-addressed store, layers, docker-archive and OCI-layout tars."""
