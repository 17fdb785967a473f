"""Write constraints.txt: the exact version of every package tfpose[test,dev,reference] needs, as
installed in this environment (after installing without constraints and running the suite).

    python .ci/freeze_constraints.py > constraints.txt
"""

import importlib.metadata as metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

EXTRAS = ("test", "dev", "reference")
BUILD_TOOLS = {"pip", "setuptools", "wheel", "cython"}  # left to the machine
HEADER = """\
# The exact versions CI installs (.ci/run: pip install -c constraints.txt -e ".[test,dev]"), so
# CI stays reproducible while setup.cfg gives users ranges. After changing a range: install in a
# fresh environment without -c, run the suite, then python .ci/freeze_constraints.py > this file.
"""


def closure(name: str, extras: tuple[str, ...], found: dict) -> None:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return  # a requirement whose marker excludes this platform
    found.setdefault(canonicalize_name(name), (dist.metadata["Name"], dist.version))
    for line in dist.requires or []:
        requirement = Requirement(line)
        wanted = not requirement.marker or any(
            requirement.marker.evaluate({"extra": extra}) for extra in extras or ("",))
        if wanted and canonicalize_name(requirement.name) not in found:
            closure(requirement.name, tuple(requirement.extras), found)


def main() -> None:
    found: dict = {}
    closure("tfpose", EXTRAS, found)
    found.pop("tfpose", None)
    print(HEADER, end="")
    for key, (name, version) in sorted(found.items()):
        if key not in BUILD_TOOLS:
            print(f"{name}=={version}")


if __name__ == "__main__":
    main()
