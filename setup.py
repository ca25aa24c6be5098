"""The one import package, ``cove``, whose sub-packages live at the top of the tree.

The tree shows the architecture (``runtime/``, ``desktop/``, ``vm/`` ...); ``cove/``
holds symlinks to them, so a plain path entry (no import hook) makes ``cove.runtime``
importable: an editable install then costs a CLI nothing at start-up.
"""

import os

from setuptools import setup


def find_packages() -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk("cove", followlinks=True):
        if "__init__.py" in files:
            found.append(dirpath.replace(os.sep, "."))
    return sorted(found)


setup(packages=find_packages(), package_dir={"cove": "cove"})
