"""Container names: validation as dockerd's, and generated "adjective_noun" names."""

from __future__ import annotations

import random
import re

from cove.runtime import errors

VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_ADJECTIVES = (
    "brave calm clever cosy crisp daring eager fancy gentle happy hardy humble jolly keen "
    "kind lively lucid mellow merry nimble noble patient plucky proud quick quiet rapid "
    "serene sharp shiny silent steady sunny swift tidy vivid warm witty zealous"
).split()
_NOUNS = (
    "albatross badger beaver bison cormorant crane dolphin falcon ferret gannet heron ibex "
    "kestrel kingfisher lynx marmot narwhal osprey otter pelican petrel puffin raven seal "
    "shearwater skua stoat swift tern walrus wren"
).split()


def validate(name: str) -> str:
    """The canonical "/name" form, or InvalidParameter with dockerd's message."""
    if not VALID_NAME.match(name):
        raise errors.InvalidParameter(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return "/" + name.lstrip("/")


def generate(taken: set[str]) -> str:
    for attempt in range(1000):
        name = f"{random.choice(_ADJECTIVES)}_{random.choice(_NOUNS)}"
        if attempt > 10:
            name += str(random.randint(0, 99))
        if "/" + name not in taken:
            return name
    raise errors.SystemError_("could not generate a unique container name")
