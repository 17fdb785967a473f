"""Does every dependency tfpose keeps on a platform have a wheel there, within its range?

    python .ci/platform_wheels.py                                # Linux ARM64, Python 3.11
    python .ci/platform_wheels.py --platform macos_arm64 --python 3.10

Reads ``install_requires`` from setup.cfg, evaluates each requirement's environment marker for
the target platform (so larq-compute-engine and xtcocotools, marked out on Linux ARM64, are
listed as left out), and asks pip for a wheel of each kept one, alone (``pip download --no-deps
--only-binary=:all: --platform P --python-version V``): a requirement whose every release in
its range is source-only, or built for other machines, fails. Linux wheels are taken as pip
takes them on glibc 2.28 or newer (manylinux_2_28 and manylinux2014 tags). Dependencies of
dependencies are not asked one by one (a full ``--only-binary`` resolution stops at
tensorflow-datasets' pure-Python ``promise``, which ships no wheel and installs from source
anywhere); the compiled ones among them (h5py, grpcio, ml-dtypes, ...) come with TensorFlow's
own aarch64 support.
Needs PyPI (CI has it); downloads into a temporary folder, deleted after. Exit status 1 when a
requirement has no wheel.
"""

from __future__ import annotations

import argparse
import configparser
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"
LINUX = {"platform_system": "Linux", "sys_platform": "linux", "os_name": "posix"}
# platform: (the wheel tags pip may take there, what the environment markers see)
PLATFORMS = {
    # glibc 2.28 or newer: Debian 10+, Ubuntu 20.04+, Raspberry Pi OS 11+, Jetson (L4T 35+)
    "linux_aarch64": (("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
                      {**LINUX, "platform_machine": "aarch64"}),
    "linux_x86_64": (("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
                     {**LINUX, "platform_machine": "x86_64"}),
    "macos_arm64": (("macosx_14_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64"),
                    {"platform_system": "Darwin", "platform_machine": "arm64",
                     "sys_platform": "darwin", "os_name": "posix"}),
}


def requirements() -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    lines = config["options"]["install_requires"].splitlines()
    return [Requirement(line) for line in (line.strip() for line in lines)
            if line and not line.startswith("#")]


def has_wheel(requirement: Requirement, tags: tuple[str, ...], python: str,
              folder: str) -> str | None:
    """The wheel pip picks for ``requirement`` (without its marker), or None."""
    spec = f"{requirement.name}{requirement.specifier}"
    platforms = [flag for tag in tags for flag in ("--platform", tag)]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         *platforms, "--python-version", python, "--disable-pip-version-check",
         "--quiet", "-d", folder, spec], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    wheels = sorted(Path(folder).glob("*.whl"), key=lambda p: p.stat().st_mtime)
    name = requirement.name.lower().replace("-", "_")
    picked = [w.name for w in wheels if w.name.lower().startswith(name)]
    return picked[-1] if picked else "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="linux_aarch64", choices=sorted(PLATFORMS))
    parser.add_argument("--python", default="3.11")
    args = parser.parse_args(argv)
    tags, markers = PLATFORMS[args.platform]
    environment = {**markers, "python_version": args.python,
                   "python_full_version": f"{args.python}.0",
                   "platform_python_implementation": "CPython",
                   "implementation_name": "cpython"}
    missing = []
    print(f"wheels for {args.platform} ({', '.join(tags)}), Python {args.python} "
          "(setup.cfg install_requires):")
    with tempfile.TemporaryDirectory() as folder:
        for requirement in requirements():
            if requirement.marker and not requirement.marker.evaluate(environment):
                print(f"  left out  {requirement.name}{requirement.specifier} "
                      f"(marker: {requirement.marker})")
                continue
            wheel = has_wheel(requirement, tags, args.python, folder)
            for file in Path(folder).glob("*"):
                file.unlink()
            print(f"  {'wheel' if wheel else 'NO WHEEL':<9} {requirement.name}"
                  f"{requirement.specifier}{': ' + wheel if wheel else ''}", flush=True)
            if wheel is None:
                missing.append(str(requirement))
    if missing:
        print(f"no {args.platform} wheel within the range of: {', '.join(missing)}")
        return 1
    print("every kept requirement has a wheel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
