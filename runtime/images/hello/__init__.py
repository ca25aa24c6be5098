"""Builds the hello-world image without a network.

``cove run hello-world`` must work on a fresh install with no registry in reach, so
the image is made locally: a tiny static executable (``elf.build_elf``) as /hello in
one layer, packed as a `docker save` archive the engine can load. The build is
deterministic, so the image ID is the same everywhere.
"""

from __future__ import annotations

from cove.runtime.images.hello.archive import Entry, Image, docker_archive, image_id, layer_tar
from cove.runtime.images.hello.elf import build_elf

__all__ = [
    "HELLO_MESSAGE",
    "build_hello_world_archive",
    "hello_world_image",
    "hello_world_image_id",
]

HELLO_MESSAGE = b"""
Hello from Cove!
This message shows that your installation appears to be working correctly.

To generate this message, Cove took the following steps:
 1. The Cove client contacted the Cove daemon (coved).
 2. The daemon found the "hello-world" image in its local store
    (built offline at first run; with a network it is pulled from Docker Hub).
 3. The daemon created a new container from that image which runs the
    executable that produced the output you are currently reading.
 4. The daemon streamed that output to the Cove client, which sent it
    to your terminal.

To try something more ambitious, you can run an Ubuntu container with:
 $ cove run -it ubuntu bash

For more examples and ideas, visit:
 https://docs.docker.com/get-started/
"""

TAG = "hello-world:latest"


def hello_world_image(arch: str = "amd64") -> Image:
    """The image record: one layer holding /hello, Cmd ["/hello"]."""
    layer = layer_tar([Entry("hello", data=build_elf(HELLO_MESSAGE, arch), mode=0o755)])
    config = {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["/hello"],
        "WorkingDir": "/",
    }
    return Image(layers=[layer], config=config, repo_tags=[TAG], architecture=arch,
                 history=["COPY hello / # built offline by cove.runtime.images.hello"])


def build_hello_world_archive(arch: str = "amd64") -> bytes:
    """The `docker save` archive of hello-world:latest for ``arch`` ("amd64" or "arm64")."""
    return docker_archive(hello_world_image(arch))


def hello_world_image_id(arch: str = "amd64") -> str:
    return image_id(hello_world_image(arch))
