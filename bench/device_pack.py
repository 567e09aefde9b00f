"""What the lent GPU machine lacks for `make test`, and how it travels there in parts.

The `device` tool carries at most 64 MiB a call (the checkout included) and nothing else reaches
that machine, so bench/gpu_test_pack.sh packs the missing pieces into one tar cut into parts,
each carried by its own call. This module holds the parts that are arithmetic, not shell:

    python3 -m bench.device_pack needs MACHINE_PIPLIST < pip-freeze     wheels to carry
    python3 -m bench.device_pack libs MACHINE_LIBS < library-paths      library files to carry
    python3 -m bench.device_pack debs < file-paths                      Debian packages of them
    python3 -m bench.device_pack split TAR FOLDER MIB                   parts + manifest.json
    python3 -m bench.device_pack join FOLDER TAR                        checked, in order

Both machines run it: only the standard library, Python 3.11 or later.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# "name==1.0", or "name @ file:///…/name-1.0-….whl" for a wheel installed from a file
FROZEN = re.compile(r"([A-Za-z0-9_.\-]+)(?:==(\S+)| @ \S+?-(\d[^-]*)-)")
# The machine's own CUDA build of torch stays; the browser tests cannot run there (no Chromium).
NEVER_CARRIED = re.compile(r"^(torch|triton|nvidia-.*|playwright|greenlet|pyee)$")
CHUNK = 1 << 20


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(root: Path) -> dict[str, str]:
    found = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (root / name).read_text().splitlines():
            match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^]]*\])?==(\S+)", line.split("#")[0].strip())
            if match:
                found[norm(match.group(1))] = match.group(2)
    return found


def read_piplist(text: str) -> dict[str, str]:
    """`pip list --format=freeze` (NAME==VERSION lines; comments and blank lines ignored)."""
    there = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            there[norm(name)] = version.strip()
    return there


def needs(frozen: str, machine: dict[str, str], pins: dict[str, str]) -> list[str]:
    """NAME==VERSION of what this venv has that the machine lacks: missing there, or there at
    another version of a package we pin (an unpinned one there at another version will do)."""
    wanted = []
    for line in frozen.splitlines():
        match = FROZEN.match(line.strip())
        if not match:
            continue
        name, version = match.group(1), match.group(2) or match.group(3)
        key = norm(name)
        if NEVER_CARRIED.match(key):
            continue
        if key in machine and (machine[key] == version or key not in pins):
            continue
        wanted.append(f"{name}=={version}")
    return wanted


def sonames(ldconfig: str) -> set[str]:
    """The library names `ldconfig -p` lists (what the machine's loader finds itself)."""
    return {line.split()[0] for line in ldconfig.splitlines() if "=>" in line}


def libs_to_carry(paths: list[str], machine_libs: set[str] | None) -> list[str]:
    """Of the library files our binaries load here, those whose name the machine's loader does
    not know (all of them when its list was never recorded)."""
    return sorted({p for p in paths if machine_libs is None or Path(p).name not in machine_libs})


def path_names(path: str) -> list[str]:
    """The names dpkg may know a file by: with /usr merged, /lib/x is /usr/lib/x, and a package
    lists whichever it was built with; the same for the file a symbolic link points to."""
    names = []
    for name in dict.fromkeys([path, os.path.realpath(path)]):
        names.append(name)
        if name.startswith(("/usr/lib/", "/usr/bin/", "/usr/sbin/")):
            names.append(name.removeprefix("/usr"))
        elif name.startswith(("/lib/", "/lib64/", "/bin/", "/sbin/")):
            names.append("/usr" + name)
    return names


def owners(paths: list[str]) -> tuple[list[str], list[str]]:
    """The Debian packages the files come from, and the files no installed package owns."""
    asked = {path: path_names(path) for path in paths}
    every = sorted({name for names in asked.values() for name in names})
    answer = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True).stdout
    owned: dict[str, set[str]] = {}
    for line in answer.splitlines():
        match = re.match(r"^(?!diversion)(.+?): (/.*)$", line)
        if match:
            packages = {p.strip().split(":")[0] for p in match.group(1).split(",")}
            owned.setdefault(match.group(2), set()).update(packages)
    found, unowned = set(), []
    for path, names in asked.items():
        packages = set().union(*(owned.get(name, set()) for name in names))
        found |= packages
        if not packages:
            unowned.append(path)
    return sorted(found), unowned


# --- parts -------------------------------------------------------------------------------------
def split(tar: Path, folder: Path, part_mib: float) -> dict:
    """Cut ``tar`` into parts of at most ``part_mib`` MiB, ``folder/part-001/part-001`` and on
    (each in a folder of its own, one `carry` path a call), each with the manifest beside it."""
    size = tar.stat().st_size
    part_bytes = int(part_mib * CHUNK)
    if part_bytes < CHUNK:
        raise SystemExit(f"parts of {part_mib} MiB are too small: the checkout fills the call")
    count = max(1, -(-size // part_bytes))
    manifest = {"size": size, "sha256": "", "parts": []}
    whole = hashlib.sha256()
    with tar.open("rb") as source:
        for number in range(1, count + 1):
            name = f"part-{number:03d}"
            (folder / name).mkdir(parents=True, exist_ok=True)
            digest, written = hashlib.sha256(), 0
            with (folder / name / name).open("wb") as out:
                while written < part_bytes and (
                    block := source.read(min(CHUNK, part_bytes - written))
                ):
                    out.write(block)
                    digest.update(block)
                    whole.update(block)
                    written += len(block)
            manifest["parts"].append({"name": name, "size": written, "sha256": digest.hexdigest()})
    manifest["sha256"] = whole.hexdigest()
    for part in manifest["parts"]:
        (folder / part["name"] / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def join(folder: Path, tar: Path) -> dict:
    """Put the parts found anywhere under ``folder`` back together into ``tar``, in the
    manifest's order, after checking that every one is there and whole; else say which not."""
    manifests = sorted(folder.rglob("manifest.json"))
    if not manifests:
        raise SystemExit(f"no manifest.json under {folder}: no part was carried here yet")
    manifest = json.loads(manifests[0].read_text())
    found = {p.name: p for p in folder.rglob("part-*") if p.is_file()}
    missing = [p["name"] for p in manifest["parts"] if p["name"] not in found]
    broken = [
        p["name"]
        for p in manifest["parts"]
        if p["name"] in found and _sha256(found[p["name"]]) != p["sha256"]
    ]
    if missing or broken:
        raise SystemExit(
            f"cannot join {len(manifest['parts'])} parts: missing {missing or 'none'}, "
            f"damaged {broken or 'none'}; carry those again"
        )
    whole = hashlib.sha256()
    with tar.open("wb") as out:
        for part in manifest["parts"]:
            with found[part["name"]].open("rb") as source:
                while block := source.read(CHUNK):
                    out.write(block)
                    whole.update(block)
    if whole.hexdigest() != manifest["sha256"]:
        raise SystemExit("the joined file is not the one that was split")
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "needs":
        machine = read_piplist(Path(args[0]).read_text()) if Path(args[0]).is_file() else {}
        print("\n".join(needs(sys.stdin.read(), machine, pinned(Path.cwd()))))
    elif command == "libs":
        known = Path(args[0])
        machine_libs = sonames(known.read_text()) if known.is_file() else None
        print("\n".join(libs_to_carry(sys.stdin.read().split(), machine_libs)))
    elif command == "debs":
        packages, unowned = owners(sys.stdin.read().split())
        if unowned:
            raise SystemExit(f"no installed Debian package owns {', '.join(unowned)}")
        print("\n".join(packages))
    elif command == "split":
        manifest = split(Path(args[0]), Path(args[1]), float(args[2]))
        print(len(manifest["parts"]))
    elif command == "join":
        manifest = join(Path(args[0]), Path(args[1]))
        print(f"joined {len(manifest['parts'])} parts, {manifest['size'] / CHUNK:.0f} MiB")
    else:
        raise SystemExit(f"unknown command {command!r}: needs, libs, debs, split or join")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
