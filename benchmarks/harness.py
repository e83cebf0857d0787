"""The benchmark harness: what every suite shares.

- :func:`run_case` runs one measurement in a fresh ``python benchmarks/run.py
  _worker SPEC OUT`` subprocess (optionally under another interpreter, e.g.
  ChannelAttribution's venv) and adds its wall time, its peak RSS
  (``ru_maxrss`` via ``os.wait4``), the sampled peak PSS / RSS of its process
  tree, the ``VmHWM`` of child JVMs (reported by the worker before they stop)
  and the CPU the rest of the machine used meanwhile;
- :func:`wait_quiet` waits for a calm machine before a measurement;
- :func:`machine_info` records the machine, the versions, the git commit and
  hashes of the package sources;
- :func:`write_json` writes ``results/<suite>[-quick].json`` and keeps a copy
  per run under ``data/runs/`` (git-ignored);
- :func:`cached_world` simulates a parquet world once and caches it under
  ``data/``;
- :func:`compare_records`, :func:`ratio`, :func:`md_table` and friends build the
  parity checks and the printed ratio tables.

Only the standard library is imported here (workers run under other
interpreters too).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUN_PY = HERE / "run.py"
DATA = HERE / "data"
RESULTS = HERE / "results"
BLOCK_USERS = 16_384  # marketing360.datasets.simulator.BLOCK_USERS (not imported: keep the parent light)
#: one id per harness run (UTC start time and pid): logs, scratch files and the archived JSON carry it,
#: so that two runs at once (the machine is shared) never read or overwrite each other's files
RUN_ID = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"

# ============================================================================ /proc helpers


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) of every live process."""
    out: dict[int, tuple[int, str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path("/proc", d, "stat").read_text()
        except OSError:
            continue
        lp, rp = raw.find("("), raw.rfind(")")
        comm = raw[lp + 1:rp]
        fields = raw[rp + 2:].split()
        out[int(d)] = (int(fields[1]), comm)
    return out


def _descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> list[int]:
    table = table if table is not None else _proc_table()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _status_kb(pid: int, *fields: str) -> dict[str, int]:
    res: dict[str, int] = {}
    try:
        for line in Path("/proc", str(pid), "status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in fields:
                res[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return res


def _pss_kb(pid: int) -> int:
    try:
        for line in Path("/proc", str(pid), "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (its reaped children included)."""
    try:
        raw = Path("/proc", str(pid), "stat").read_text()
        f = raw[raw.rfind(")") + 2:].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    except (OSError, ValueError, IndexError):
        return 0.0


def children_memory() -> list[dict[str, Any]]:
    """Peak (VmHWM), current RSS and CPU time of every live descendant of this process."""
    table = _proc_table()
    out = []
    for pid in _descendants(os.getpid(), table):
        st = _status_kb(pid, "VmHWM", "VmRSS")
        if st:
            out.append({"pid": pid, "comm": table[pid][1], "hwm_kb": st.get("VmHWM", 0),
                        "rss_kb": st.get("VmRSS", 0), "cpu_seconds": _proc_cpu_seconds(pid)})
    return out


def _cpu_snapshot() -> tuple[float, float, float]:
    """(wall clock, busy CPU seconds of the whole machine, steal seconds) from /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = f[:7]
    steal = f[7] if len(f) > 7 else 0
    return time.perf_counter(), (user + nice + system + irq + softirq) / hz, steal / hz


def background_cpu(seconds: float = 2.0) -> float:
    """Cores kept busy by everything else on the machine over ``seconds`` (we run nothing)."""
    a = _cpu_snapshot()
    me = sum(os.times()[:2])
    time.sleep(seconds)
    b = _cpu_snapshot()
    return max(0.0, (b[1] - a[1] - (sum(os.times()[:2]) - me)) / (b[0] - a[0]))


def wait_quiet(max_wait: float, threshold: float = 0.3) -> dict[str, float]:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores."""
    t0 = time.perf_counter()
    load = background_cpu(1.0)
    while load >= threshold and time.perf_counter() - t0 < max_wait:
        load = background_cpu(2.0)
    return {"waited_seconds": time.perf_counter() - t0, "background_cores_before": load}


def maxrss_kb(who: int) -> int:
    import resource

    return int(resource.getrusage(who).ru_maxrss)  # KiB on Linux


# ============================================================================ parent: run a case


class CaseFailed(RuntimeError):
    pass


def run_case(name: str, spec: dict[str, Any], *, timeout: float, interval: float = 0.2,
             quiet: float = 0.0, python: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run one worker subprocess; add its wall time, memory and the machine's other load.

    ``spec["kind"]`` names the worker (see ``suites.WORKERS``); ``spec["env"]``
    adds environment variables. ``quiet``: first wait up to that many seconds
    for the other processes of the machine to calm down (it is shared).
    ``python``: the interpreter (default: this one), e.g. a separate venv.
    The worker's output goes to ``data/logs/<RUN_ID>/<name>.log``.
    """
    tmp = DATA / "tmp"
    logs = DATA / "logs" / RUN_ID
    work = DATA / "work"
    for d in (tmp, logs, work):
        d.mkdir(parents=True, exist_ok=True)
    # the run's id in the names: two runs at once (a shared machine) must not read each other's files
    case_id = f"{name}.{RUN_ID}"
    spec_path, out_path, log_path = tmp / f"{case_id}.spec.json", tmp / f"{case_id}.out.json", logs / f"{name}.log"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    calm = wait_quiet(quiet) if quiet > 0 else {}
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               **spec.get("env", {}))
    with open(log_path, "w") as log:
        cpu0, me0 = _cpu_snapshot(), sum(os.times()[:2])
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(python or sys.executable), str(RUN_PY), "_worker",
                                 str(spec_path), str(out_path)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=work, env=env, start_new_session=True)
        peak_pss = peak_rss = 0
        status, ru = 0, None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker's own process group
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise CaseFailed(f"{name}: timed out after {timeout:.0f} s (log: {log_path})")
            table = _proc_table()
            tree = [proc.pid] + _descendants(proc.pid, table)
            peak_pss = max(peak_pss, sum(_pss_kb(p) for p in tree))
            peak_rss = max(peak_rss, sum(_status_kb(p, "VmRSS").get("VmRSS", 0) for p in tree))
            time.sleep(interval)
        wall = time.perf_counter() - t0
        cpu1, me1 = _cpu_snapshot(), sum(os.times()[:2])
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out_path.exists():
        tail = log_path.read_text()[-3000:]
        raise CaseFailed(f"{name}: worker exited with {proc.returncode}; log {log_path}:\n{tail}")
    res = json.loads(out_path.read_text())
    spec_path.unlink(missing_ok=True)
    out_path.unlink(missing_ok=True)
    # a JVM outlives its Python parent a moment: make sure the ones we started are gone
    for child in res.get("children", []):
        if child["comm"] == "java":
            _reap(child["pid"])
    ours = ru.ru_utime + ru.ru_stime + (me1 - me0) + sum(
        c.get("cpu_seconds", 0.0) for c in res.get("children", []))  # worker, its JVM, this sampler
    span = cpu1[0] - cpu0[0]
    res.update(process_wall_seconds=wall, maxrss_kb=int(ru.ru_maxrss),
               tree_peak_pss_kb_sampled=peak_pss, tree_peak_rss_kb_sampled=peak_rss,
               cpu_seconds=ru.ru_utime + ru.ru_stime,
               background_cores=max(0.0, (cpu1[1] - cpu0[1] - ours) / span),
               steal_cores=(cpu1[2] - cpu0[2]) / span, **calm)
    return res


def _reap(pid: int, wait: float = 15.0) -> None:
    t0 = time.time()
    while Path("/proc", str(pid)).exists() and time.time() - t0 < wait:
        time.sleep(0.2)
    if Path("/proc", str(pid)).exists():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ============================================================================ machine info, output


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def source_hash(*subs: str) -> str:
    """sha256 (first 16 hex digits) of the package's Python sources under ``marketing360/<sub>``.

    A ``<sub>`` that does not exist (a module moved away, a package not there yet) counts as absent.
    """
    import hashlib

    h = hashlib.sha256()
    root = REPO / "marketing360"
    files = sorted({f for sub in (subs or ("",)) for f in
                    ([root / sub] if sub.endswith(".py") else (root / sub).rglob("*.py"))})
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"\0absent")
    return h.hexdigest()[:16]


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(measured: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The machine, the software versions, the git commit and hashes of the package sources.

    ``measured``: per suite, the package sources it measures (``marketing360/<sub>``), hashed apart so
    that a change of them during a run can be told (see :func:`source_hash`).
    """
    info: dict[str, Any] = {
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "loadavg_at_start": list(os.getloadavg()),
    }
    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
               if ln.startswith("model name")]
        info["cpu_model"] = cpu[0] if cpu else None
        mem = [ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")]
        info["mem_total_gib"] = round(int(mem[0].split()[1]) / 2**20, 1)
    except OSError:
        pass
    cgroup = Path("/sys/fs/cgroup/cpu.max")
    if cgroup.exists():
        info["cgroup_cpu_max"] = cgroup.read_text().strip()
    try:
        jv = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        info["java"] = (jv.stderr or jv.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        info["java"] = None
    try:
        info["git_commit"] = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                                            capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "marketing360"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        info["package_modified_since_commit"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    info["package_source_sha256"] = source_hash()
    info["measured_source_sha256"] = {k: source_hash(*v) for k, v in (measured or {}).items()}
    info["versions"] = {d: _version(d) for d in (
        "marketing360", "ibis-framework", "duckdb", "pyspark", "pandas", "polars", "pyarrow", "numpy",
        "scipy", "sqlglot", "torch")}
    return info


def write_json(name: str, quick: bool, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>[-quick].json`` (the latest run, what the README cites) and keep a copy
    of every run as ``data/runs/<name>[-quick]-<RUN_ID>.json`` (git-ignored), so a run never loses
    the one before it."""
    payload = {**payload, "run_id": RUN_ID}
    text = json.dumps(payload, indent=1, default=str) + "\n"
    stem = f"{name}{'-quick' if quick else ''}"
    archive = DATA / "runs" / f"{stem}-{RUN_ID}.json"
    for path in (archive, RESULTS / f"{stem}.json"):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return RESULTS / f"{stem}.json"


def scratch(name: str) -> Path:
    """A scratch path of this run under ``data/work/<RUN_ID>/`` (see :func:`clean_scratch`)."""
    d = DATA / "work" / RUN_ID
    d.mkdir(parents=True, exist_ok=True)
    return d / name


def clean_scratch() -> None:
    shutil.rmtree(DATA / "work" / RUN_ID, ignore_errors=True)


def write_worker_result(out_path: str, res: dict[str, Any]) -> None:
    tmp = Path(out_path + ".tmp")
    tmp.write_text(json.dumps(res, default=str))
    os.replace(tmp, out_path)


# ============================================================================ statistics, parity, tables


def median(xs: Iterable[float]) -> float:
    return statistics.median(list(xs))


def pct(xs: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (numpy's default)."""
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def jvm_hwm_kb(res: dict[str, Any]) -> int | None:
    """Peak RSS (VmHWM) of the Spark driver JVM a worker reported, if any."""
    return max((c["hwm_kb"] for c in res.get("children", []) if c["comm"] == "java"), default=None)


def mib(kb: float | None) -> str:
    return "n/a" if not kb else f"{kb / 1024:,.0f} MiB"  # 0: the process ended before a sample


def fmt_s(s: float) -> str:
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def fmt_ratio(x: float | None, baseline: bool = False) -> str:
    """A ratio for a table: ``**1.00×**`` for the baseline row itself."""
    if baseline:
        return "**1.00×**"
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.2f}×"


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A markdown table; ``align``: one character per column, ``l`` or ``r`` (default: first left)."""
    align = align or "l" + "r" * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def compare_records(name: str, ref: list[dict], other: list[dict], keys: tuple[str, ...],
                    exact: tuple[str, ...], approx: tuple[str, ...], rtol: float = 1e-6) -> list[str]:
    """Problems (empty: equal) between two lists of records: the same keys, ``exact`` columns equal,
    ``approx`` ones within ``rtol`` relative."""
    bad = []
    rk = {tuple(r[k] for k in keys): r for r in ref}
    ok = {tuple(r[k] for k in keys): r for r in other}
    if set(rk) != set(ok):
        bad.append(f"{name}: groups differ: only in reference {sorted(set(rk) - set(ok))[:10]}, "
                   f"only here {sorted(set(ok) - set(rk))[:10]}")
    for key in sorted(set(rk) & set(ok)):
        a, b = rk[key], ok[key]
        for c in exact:
            if a[c] != b[c]:
                bad.append(f"{name} {key} {c}: {b[c]} != reference {a[c]}")
        for c in approx:
            if abs(a[c] - b[c]) > rtol * max(abs(a[c]), abs(b[c])) + 1e-9:
                bad.append(f"{name} {key} {c}: {b[c]!r} != reference {a[c]!r} "
                           f"(relative {abs(a[c] - b[c]) / max(abs(a[c]), 1e-300):.3g})")
    return bad


# ============================================================================ cached simulated worlds


def cached_world(users: int, days: int, seed: int, target: int = 0, fresh: bool = False,
                 tables: bool = False, channels: int | None = None) -> dict[str, Any]:
    """A simulated parquet world (``truth="none"``), made once and cached under benchmarks/data.

    The cache is kept when the simulator changes (the benchmarks that use it
    measure the engines, not the simulator); the code that made it is
    recorded, and ``fresh`` (``--fresh-data``) simulates it again. With
    fewer than ``target`` events, the consumers are scaled up (to whole
    1,024s) and the world simulated again. ``tables``: the world's other
    tables (``users.parquet``, ``brands.parquet``, ...) are needed too.
    ``channels``: that many ad channels (see ``suites.simulator.world_channels``)
    instead of the simulator's default six; such a world lives in ``data/mta-...``.
    """
    code = source_hash("datasets")
    while True:
        root = DATA / (f"world-{users}x{days}-s{seed}" if channels is None
                       else f"mta-{users}x{days}-c{channels}-s{seed}")
        marker = root / "benchmark.json"
        if marker.exists() and (fresh or (tables and not (root / "users.parquet").exists())):
            marker.unlink()
        info = json.loads(marker.read_text()) if marker.exists() else {}
        if info:
            print(f"  reusing {root} ({info['events']:,} events)", flush=True)
        else:
            print(f"  simulating {users:,} users × {days} days (truth='none', n_jobs=2"
                  + (f", {channels} channels" if channels else "") + f") -> {root} ...", flush=True)
            spec = {"kind": "simulate", "users": users, "days": days, "truth": "none", "n_jobs": 2,
                    "seed": seed, "out": str(root), "write_world": tables, "channels": channels}
            res = run_case(root.name, spec, timeout=3600)
            info = {"users": users, "days": days, "seed": seed, "truth": "none", "channels": channels,
                    "events": res["events"], "files": res["files"], "bytes": res["bytes"],
                    "path": str(root / "events"), "simulate_seconds": res["seconds"],
                    "simulator_source_sha256": code, "git_commit": _git_commit(),
                    "made_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
            if tables:
                info["users_path"] = str(root / "users.parquet")
            marker.write_text(json.dumps(info, indent=1))
        if tables and "users_path" not in info:  # an events-only world that has the tables by now
            info["users_path"] = str(root / "users.parquet")
        if info["events"] >= target:
            return info
        users = int(math.ceil(users * target / info["events"] * 1.02 / 1024) * 1024)
        print(f"  {info['events']:,} < {target:,} events: trying {users:,} users", flush=True)
