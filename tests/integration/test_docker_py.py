"""docker-py, unmodified, against coved."""

from __future__ import annotations

import docker
import pytest


@pytest.fixture
def client(coved):
    c = docker.DockerClient(base_url=coved.host, version="1.41", timeout=60)
    yield c
    c.close()


def test_docker_py_runs_and_reads_back(client):
    assert client.ping() is True
    out = client.containers.run("busybox", ["sh", "-c", "echo py; echo err >&2"], remove=True,
                                stderr=True)
    assert b"py\n" in out
    container = client.containers.run("busybox", ["sleep", "60"], detach=True, name="pyc",
                                      labels={"via": "docker-py"})
    try:
        container.reload()
        assert container.status == "running"
        assert container.labels == {"via": "docker-py"}
        code, output = container.exec_run(["sh", "-c", "echo $((1+2))"])
        assert (code, output) == (0, b"3\n")
        assert [c.name for c in client.containers.list(filters={"label": "via=docker-py"})] == ["pyc"]
        container.stop(timeout=1)
        assert container.wait()["StatusCode"] == 137
    finally:
        container.remove(force=True)


def test_docker_py_errors_are_typed(client):
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image:1")
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert info.value.exit_status == 3


def test_docker_py_images(client):
    names = {tag for image in client.images.list() for tag in image.tags}
    assert "busybox:latest" in names
    image = client.images.get("busybox")
    assert image.attrs["Config"]["Cmd"] == ["sh"]
    assert image.history()[0]["Id"] == image.id
