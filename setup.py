"""Maps the one import package, ``cove``, onto the top-level directories.

The tree shows the architecture (``runtime/``, ``desktop/``, ``vm/`` ...), so the
sub-packages live there rather than under ``cove/``; this walks each root and
lists every package below it.
"""

import os

from setuptools import setup

PACKAGE_ROOTS = {
    "cove": "cove",
    "cove.runtime": "runtime",
    "cove.desktop": "desktop",
    "cove.vm": "vm",
    "cove.packaging": "packaging",
}


def find_packages() -> list[str]:
    found = []
    for package, root in PACKAGE_ROOTS.items():
        for dirpath, _dirs, files in os.walk(root):
            if "__init__.py" in files:
                relative = os.path.relpath(dirpath, root)
                suffix = "" if relative == "." else "." + relative.replace(os.sep, ".")
                found.append(package + suffix)
    return sorted(found)


setup(packages=find_packages(), package_dir=PACKAGE_ROOTS)
