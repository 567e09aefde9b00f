"""Of this venv's `pip freeze` (stdin), the requirements the CUDA machine lacks (argv[1]: its
`pip list` as NAME==VERSION lines): missing there, or there at another version that we pin."""

import re
import sys
from pathlib import Path

# "name==1.0", or "name @ file:///…/name-1.0-….whl" for a wheel installed from a file
FROZEN = re.compile(r"([A-Za-z0-9_.\-]+)(?:==(\S+)| @ \S+?-(\d[^-]*)-)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> dict[str, str]:
    found = {}
    for path in ("requirements.txt", "requirements-dev.txt"):
        for line in Path(path).read_text().splitlines():
            match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^]]*\])?==(\S+)", line.split("#")[0].strip())
            if match:
                found[norm(match.group(1))] = match.group(2)
    return found


def main() -> None:
    there = {}
    for line in Path(sys.argv[1]).read_text().splitlines():
        if "==" in line:
            name, version = line.strip().split("==", 1)
            there[norm(name)] = version
    pins = pinned()
    for line in sys.stdin:
        match = FROZEN.match(line.strip())
        if not match:
            continue
        name, version = match.group(1), match.group(2) or match.group(3)
        key = norm(name)
        if key in ("torch", "triton") or key.startswith("nvidia-"):
            continue  # the machine's own CUDA build of torch stays
        if key in there and (there[key] == version or key not in pins):
            continue
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
