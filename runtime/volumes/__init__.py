"""Local volumes: the store of their records and directories, and the image copy-up."""
