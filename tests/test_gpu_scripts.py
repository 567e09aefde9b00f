"""The scripts that run `make test` on the lent GPU machine (bench/gpu_test_*.sh), checked here:
what they carry, the parts they cut and put back together, the deadline that keeps pytest's
summary line, and the pack's dry run from a fresh clone. (The GPU machine itself was not lent.)"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import device_pack

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def test_parts_fit_a_call_and_come_back_whole_in_any_order(tmp_path: Path):
    """548 MB once made 11 parts that `split -a 1`, `cat chunk?` and CHUNKS=9 could not hold."""
    data = random.Random(7).randbytes(11 * MIB + 12345)
    (tmp_path / "pack.tar").write_bytes(data)
    manifest = device_pack.split(tmp_path / "pack.tar", tmp_path / "out", 1)
    names = [p["name"] for p in manifest["parts"]]
    assert names == [f"part-{n:03d}" for n in range(1, 13)]
    assert all(p["size"] <= MIB for p in manifest["parts"])
    # each part travels on its own call, in its own folder, with the manifest beside it
    arrived = tmp_path / "machine"
    for name in reversed(names):
        shutil.copytree(tmp_path / "out" / name, arrived / f"call-{name}")
    device_pack.join(arrived, tmp_path / "joined.tar")
    assert (tmp_path / "joined.tar").read_bytes() == data


def test_a_missing_or_damaged_part_is_named_before_anything_is_unpacked(tmp_path: Path):
    (tmp_path / "pack.tar").write_bytes(random.Random(3).randbytes(3 * MIB))
    device_pack.split(tmp_path / "pack.tar", tmp_path / "out", 1)
    shutil.rmtree(tmp_path / "out" / "part-002")
    with pytest.raises(SystemExit, match=r"missing \['part-002'\]"):
        device_pack.join(tmp_path / "out", tmp_path / "joined.tar")
    device_pack.split(tmp_path / "pack.tar", tmp_path / "again", 1)
    damaged = tmp_path / "again" / "part-003" / "part-003"
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    with pytest.raises(SystemExit, match=r"damaged \['part-003'\]"):
        device_pack.join(tmp_path / "again", tmp_path / "joined.tar")


def test_only_what_the_machine_lacks_is_carried():
    frozen = "\n".join(
        [
            "av==18.1.0",  # missing there
            "numpy==2.4.1",  # there at another version, not pinned: theirs will do
            "pillow==13.0.0",  # pinned, there at another version
            "requests==2.34.2",  # there at the same version
            "torch==2.13.0",  # the machine's own CUDA build stays
            "nvidia-cublas-cu12==12.4.5.8",
            "playwright==1.65.2",  # no browser tests there
            "mywheel @ file:///tmp/wheels/mywheel-1.2-py3-none-any.whl",
        ]
    )
    machine = device_pack.read_piplist(
        "# recorded 2026-11\nnumpy==2.5.2\nPillow==11.0.0\nrequests==2.34.2\ntorch==2.11.0\n"
    )
    pins = {"pillow": "13.0.0", "requests": "2.34.2", "torch": "2.13.0", "av": "18.1.0"}
    assert device_pack.needs(frozen, machine, pins) == [
        "av==18.1.0",
        "pillow==13.0.0",
        "mywheel==1.2",
    ]


def test_libraries_the_machines_loader_knows_stay_behind():
    ldconfig = (
        "3 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n"
        "\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3\n"
    )
    here = ["/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/liblzf.so.1"]
    known = device_pack.sonames(ldconfig)
    assert device_pack.libs_to_carry(here, known) == ["/lib/x86_64-linux-gnu/liblzf.so.1"]
    assert device_pack.libs_to_carry(here, None) == sorted(here)  # never probed: carry all


@pytest.mark.skipif(not shutil.which("dpkg"), reason="dpkg answers only on Debian")
def test_a_library_is_traced_to_its_package_on_merged_usr():
    """ldd names /usr/lib/…/libz.so.1 where dpkg lists /lib/…: once an unexplained exit 123."""
    assert device_pack.owners(["/usr/lib/x86_64-linux-gnu/libz.so.1"]) == (["zlib1g"], [])
    packages, unowned = device_pack.owners(["/usr/lib/x86_64-linux-gnu/no-such-lib.so.9"])
    assert packages == [] and unowned == ["/usr/lib/x86_64-linux-gnu/no-such-lib.so.9"]


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_slow.py").write_text(
        "import time\n\n"
        "def test_quick():\n    pass\n\n"
        + "".join(f"def test_slow_{n}():\n    time.sleep(1)\n\n" for n in range(4))
        + "def test_stuck():\n    time.sleep(600)\n"
    )
    command = [sys.executable, "-m", "pytest", "-p", "tests.deadline", "-q", "-rs"]
    command += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), *args, str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # the outer run's options
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_past_the_deadline_tests_are_skipped_and_the_summary_line_still_comes(tmp_path: Path):
    result = run_pytest(tmp_path, "--deadline", "1.5", "--timeout", "5")
    lines = result.stdout.strip().splitlines()
    assert "deadline: not started within 1.5 s" in result.stdout
    # the last line is pytest's summary, however far the run got on a busy machine
    assert re.fullmatch(r"(\d+ passed, )?\d+ skipped in [\d.]+s.*", lines[-1]), lines[-1]
    assert result.returncode == 0


def test_a_stuck_test_is_stopped_by_its_timeout_and_the_summary_line_still_comes(tmp_path):
    result = run_pytest(tmp_path, "--deadline", "60", "--timeout", "3", "-k", "stuck or quick")
    last = result.stdout.strip().splitlines()[-1]
    assert "1 failed" in last and "1 passed" in last, last
    assert "Timeout" in result.stdout


@pytest.mark.skipif(not shutil.which("git"), reason="the fresh clone is made with git")
def test_the_pack_dry_run_works_from_a_fresh_clone(tmp_path: Path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to(ROOT / ".venv")  # as `make install` would have made it
    env = os.environ | {"DRY_RUN": "1"}
    result = subprocess.run(
        ["bash", "bench/gpu_test_pack.sh"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "a part is at most" in result.stderr
    for expected in ("av==18.1.0", "postgresql-client-15", "redis-tools", "espeak-ng-data"):
        assert expected in result.stdout, expected
    assert "torch==" not in result.stdout and not (clone / ".device").exists()
