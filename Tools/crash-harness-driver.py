#!/usr/bin/env python3
"""SIGKILL crash-safety trials for fute-db (issue 6). Run through Tools/crash-harness.sh.

Each trial starts `fute-db ingest --batch-size B --progress-log LOG` on a generated input, kills
it with SIGKILL at a random moment, then asserts:
  1. the store opens (`fute-db stats --json` exits 0);
  2. `fute-db check` passes (when the command exists);
  3. the stored count is a whole number of committed batches (no partial batch), between the
     batches the log acknowledged and one more (a batch may commit just before the log line);
  4. every batch acknowledged in the progress log is present and bit-identical, read back
     independently of fute-db's code: the LMDB store with the stock `mdb_dump`.
Trial kinds: `fresh` (empty store, the space is created by the killed run), `update` (a complete
store re-ingested with new vectors for the same names: every name holds exactly its old or its
new vector, the new ones a whole number of batches), `append` (new names into a complete store:
old records untouched), `delete` (`fute-db delete --space --names FILE` of most names of a complete
store, in a shuffled order, small batches: the deleted names are a whole number of batches taken in
list order, every acknowledged batch is gone, every other record present and bit-identical), and `dataset` (`ingest --dataset`, when the encoder folder exists: the
subject is either absent or complete). When `check` fails after a kill, the trial's batches are replayed
without a crash on a fresh copy and the finding says whether the uninterrupted run fails `check` too
(then the cause is not crash safety but e.g. the HNSW repair). Standard library only.
"""
import argparse, json, os, random, shutil, signal, struct, subprocess, sys, tempfile, time

FINDINGS = []


def finding(trial, message):
    FINDINGS.append(f"trial {trial}: {message}")
    print(f"crash-harness: FINDING trial {trial}: {message}", file=sys.stderr)


def float32_values(rng, count):
    """Random float32 values and their exact decimal text (repr of the float32 widened to double)."""
    values = [struct.unpack('<f', struct.pack('<f', rng.uniform(-1, 1)))[0] for _ in range(count)]
    return values


def write_input(path, prefix, count, dim, seed):
    rng = random.Random(seed)
    records = {}
    with open(path, 'w') as f:
        for i in range(count):
            name = f"{prefix}{i:06d}"
            vec = float32_values(rng, dim)
            records[name] = struct.pack(f'<{dim}f', *vec)
            f.write(json.dumps({"name": name, "vector": vec}) + "\n")
    return records


def run(binary, args, timeout=120):
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    return subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout, env=env)


# ---------------------------------------------------------------- reading a store independently

def mdb_dump_all(db):
    """{database name: [(key bytes, value bytes)]} from `mdb_dump -a` (hex format)."""
    out = subprocess.run(["mdb_dump", "-a", db], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"mdb_dump -a {db} failed: {out.stderr.strip()}")
    dbs, name, rows, pending, in_data = {}, None, [], None, False
    for line in out.stdout.split("\n"):
        if not in_data:
            if line.startswith("database="):
                name = line[len("database="):]
            elif line == "HEADER=END":
                in_data, rows, pending = True, [], None
            continue
        if line == "DATA=END":
            dbs[name if name is not None else ""] = rows
            in_data, name = False, None
        elif line.startswith(" "):
            data = bytes.fromhex(line[1:])
            if pending is None:
                pending = data
            else:
                rows.append((pending, data))
                pending = None
    return dbs


def read_vectors(db, space, dim):
    """{subject name: float32 LE bytes} for `space`, read from the store's files, not via fute-db.

    Layout (Sources/FuteDB/StorageLayout.swift): `subject_ids` name (UTF-8) -> u64 BE id; `spaces`
    keyed by name; `embeddings` (u32 BE space id, u64 BE subject id) -> header + dim float32 LE
    (the vector is the value's last 4*dim bytes). With one space in the store every embedding key
    belongs to it; with several the space id comes from the `spaces` record.
    """
    legacy = os.path.join(db, "fallback.json")
    if not os.path.exists(os.path.join(db, "data.mdb")) and os.path.exists(legacy):
        with open(legacy) as f:  # the CLI's temporary JSON backend (before FuteDB landed)
            state = json.load(f)
        return {e["subject"]: struct.pack(f'<{dim}f', *e["vector"]) for e in state["embeddings"] if e["space"] == space}
    dbs = mdb_dump_all(db)
    ids = {}
    for key, value in dbs.get("subject_ids", []):
        ids[struct.unpack('>Q', value[-8:])[0]] = key.decode('utf-8')
    space_ids = {k[:4] for k, _ in dbs.get("embeddings", [])}
    if len(space_ids) > 1:
        raise RuntimeError("several spaces stored; the harness uses one")
    vectors = {}
    for key, value in dbs.get("embeddings", []):
        subject = struct.unpack('>Q', key[4:12])[0]
        name = ids.get(subject)
        if name is None:
            raise RuntimeError(f"embedding for subject id {subject} without a subject_ids entry")
        vectors[name] = value[-4 * dim:]
    return vectors


# ---------------------------------------------------------------- one trial

def read_log(path):
    batches = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 6 and parts[0] == "batch" and parts[2] == "records" and parts[4] == "committed":
                    first, last = (int(x) for x in parts[3].split("-"))
                    batches.append((int(parts[1]), first, last, int(parts[5])))
                elif line.strip():
                    raise RuntimeError(f"unexpected progress line {line!r}")
    return batches


def kill_at(binary, args, delay):
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    proc = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = True
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return killed, proc.returncode, err


def check_store(binary, trial, db, have_check, replay=None):
    """Stats and `check` after a kill. `replay(dir)`, when given, is called only if `check` fails: it
    reproduces the same batches without a crash, to tell a crash-safety failure from one that an
    uninterrupted run reaching the same batch shows too (then the cause is not the crash)."""
    stats = run(binary, ["stats", "--db", db, "--json"])
    if stats.returncode != 0:
        finding(trial, f"store does not open after SIGKILL: {stats.stderr.strip()}")
        return None
    if have_check:
        check = run(binary, ["check", "--db", db])
        if check.returncode != 0:
            note = ""
            if replay is not None:
                try:
                    again = replay(db + ".replay")
                    same = run(binary, ["check", "--db", db + ".replay"]).returncode != 0 if again else None
                    note = {True: " [also without a crash: an uninterrupted run of the same batches fails check too]",
                            False: " [crash-specific: an uninterrupted run of the same batches passes check]",
                            None: " [replay without a crash failed to run]"}[same]
                except Exception as e:  # noqa: BLE001
                    note = f" [replay failed: {e}]"
                shutil.rmtree(db + ".replay", ignore_errors=True)
            finding(trial, f"fute-db check failed after SIGKILL: {(check.stdout + check.stderr).strip()[:500]}{note}")
    return json.loads(stats.stdout)


def read_back(binary, trial, db, log, space, dim, label):
    """(stats, acknowledged batches, stored vectors) after a kill, or None after recording a finding."""
    stats = check_store(binary, trial, db, False)
    if stats is None:
        return None
    try:
        return stats, read_log(log), read_vectors(db, space, dim)
    except Exception as e:  # noqa: BLE001 — every failure to read back is a finding
        finding(trial, f"{label}: cannot read back: {e}")
        return None


def check_batches(trial, label, acked, prefix, B, total_items, done_what):
    """`prefix` items of `total_items` done: whole batches of B, at least every acknowledged batch,
    at most one unacknowledged batch more, and the progress log's lines consecutive."""
    if prefix % B != 0 and prefix != total_items:
        finding(trial, f"{label}: {prefix} {done_what}: not a whole number of {B}-item batches")
    acked_items = acked[-1][2] + 1 if acked else 0
    if prefix < acked_items:
        finding(trial, f"{label}: {acked_items} items acknowledged in the log but only {prefix} {done_what}")
    if prefix > acked_items + B and prefix != total_items:
        finding(trial, f"{label}: {prefix} {done_what} but only {acked_items} acknowledged (more than one unlogged batch)")
    for i, (batch, first, last, total) in enumerate(acked):
        if batch != i or first != i * B or last != min(total_items, (i + 1) * B) - 1 or total != last + 1:
            finding(trial, f"{label}: progress log line {i} is {batch} {first}-{last} {total}: not consecutive batches")
            break


def space_count(stats, space):
    for s in stats.get("spaces", []):
        if s.get("name") == space:
            return s.get("embeddings", s.get("count"))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--records", type=int, default=2500)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--m", type=int, default=8, help="HNSW M of the harness's space (small: more graph repair per batch)")
    p.add_argument("--ef-construction", type=int, default=40, help="HNSW efConstruction of the harness's space")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--max-delay", type=float, default=5.0, help="kill no later than this many seconds")
    p.add_argument("--encoder", default="", help="encoder folder for dataset trials (skipped when absent)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--dataset-trials", type=int, default=4, help="`ingest --dataset` trials (need --encoder)")
    p.add_argument("--dataset", default="", help="labelled JSONL for dataset trials (default: ../shared/data/tasks/sst2.jsonl)")
    a = p.parse_args()
    binary, B, N, dim = a.binary, a.batch_size, a.records, a.dim
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="fute-crash-")
    print(f"crash-harness: seed {a.seed}, {a.trials} trials, {N} records x {dim}-d, batch {B}, work {work}")
    have_check = run(binary, ["check", "--help"]).returncode == 0
    if not have_check:
        print("crash-harness: note: `fute-db check` not available in this binary; step 2 skipped")
    space = "crash"
    v1_path, v2_path, v3_path = (os.path.join(work, f) for f in ("v1.jsonl", "v2.jsonl", "v3.jsonl"))
    v1 = write_input(v1_path, "r", N, dim, a.seed)
    v2 = write_input(v2_path, "r", N, dim, a.seed + 1)   # same names, new vectors
    v3 = write_input(v3_path, "n", N, dim, a.seed + 2)   # new names
    ingest = lambda db, path, log: ["ingest", "--db", db, "--space", space, "--metric", "l2", "--m", str(a.m),
                                     "--ef-construction", str(a.ef_construction), "--batch-size", str(B), "--progress-log", log, path]

    # Calibrate: one complete run gives the template store for update/append trials and the time scale.
    template = os.path.join(work, "template")
    start = time.monotonic()
    full = run(binary, ingest(template, v1_path, os.path.join(work, "template.log")), timeout=600)
    elapsed = time.monotonic() - start
    if full.returncode != 0:
        print(f"crash-harness: error: the calibration ingest failed: {full.stderr.strip()}", file=sys.stderr)
        return 2
    stored = read_vectors(template, space, dim)
    if stored != v1:
        finding("calibration", f"a complete ingest stored {len(stored)} records, {sum(stored.get(k) == v for k, v in v1.items())} of {N} bit-identical")
    window = min(elapsed, a.max_delay)
    print(f"crash-harness: a complete ingest of {N} records takes {elapsed:.2f} s; kills fall in [0, {window:.2f}] s")

    # Delete trials: remove most names of the complete store, in a shuffled order (not key order).
    delete_list = sorted(v1)
    random.Random(a.seed + 3).shuffle(delete_list)
    delete_list = delete_list[:max(1, len(delete_list) // 2)]
    delete_path = os.path.join(work, "delete.names")
    with open(delete_path, "w") as f:
        f.write("".join(n + "\n" for n in delete_list))
    delete = lambda db, log: ["delete", "--db", db, "--space", space, "--batch-size", str(B), "--progress-log", log,
                              "--names", delete_path]
    have_delete = run(binary, ["delete", "--help"]).returncode == 0
    delete_window = 0.0
    if have_delete:
        calib = os.path.join(work, "delete-calibration")
        shutil.copytree(template, calib)
        start = time.monotonic()
        full = run(binary, delete(calib, os.path.join(work, "delete-calibration.log")), timeout=600)
        delete_elapsed = time.monotonic() - start
        if full.returncode != 0:
            finding("delete calibration", f"a complete delete failed: {full.stderr.strip()[:300]}")
            have_delete = False
        else:
            stored = read_vectors(calib, space, dim)
            gone = set(delete_list)
            if stored != {n: v for n, v in v1.items() if n not in gone}:
                finding("delete calibration", f"a complete delete left {len(stored)} records, expected {N - len(gone)} bit-identical")
            check_store(binary, "delete calibration", calib, have_check)
            delete_window = min(delete_elapsed, a.max_delay)
            print(f"crash-harness: a complete delete of {len(delete_list)} of {N} records takes {delete_elapsed:.2f} s; "
                  f"kills fall in [0, {delete_window:.2f}] s")
    else:
        print("crash-harness: note: `fute-db delete` not available in this binary; delete trials skipped")

    kinds = ["fresh", "update", "append"] + (["delete"] if have_delete else [])
    counts = {k: 0 for k in kinds}
    killed_count = 0
    for trial in range(a.trials):
        kind = kinds[trial % len(kinds)]
        counts[kind] += 1
        db = os.path.join(work, f"t{trial}")
        log = os.path.join(work, f"t{trial}.log")
        if kind != "fresh":
            shutil.copytree(template, db)
        if kind == "delete":
            def replay_delete(target, prefix, trial=trial):
                shutil.copytree(template, target)
                part = os.path.join(work, f"t{trial}.replay.names")
                with open(part, "w") as f:
                    f.write("".join(n + "\n" for n in delete_list[:prefix]))
                return prefix == 0 or run(binary, delete(target, part + ".log")[:-1] + [part], timeout=600).returncode == 0
            delete_trial(binary, trial, db, log, delete(db, log), rng.uniform(0, delete_window), delete_list,
                         v1, space, dim, B, have_check, replay_delete)
            killed_count += FINDINGS_KILLED.pop()
            if not a.keep:
                shutil.rmtree(db, ignore_errors=True)
            continue
        path = {"fresh": v1_path, "update": v2_path, "append": v3_path}[kind]
        new = {"fresh": v1, "update": v2, "append": v3}[kind]
        delay = rng.uniform(0, window)
        killed, status, err = kill_at(binary, ingest(db, path, log), delay)
        killed_count += killed
        if not killed and status != 0:
            finding(trial, f"ingest exited {status} on its own: {err.strip()[:300]}")
            continue
        if kind == "fresh" and not os.path.exists(db):
            if read_log(log):
                finding(trial, "batches acknowledged but no store directory")
            continue  # killed before the store existed: nothing to check
        back = read_back(binary, trial, db, log, space, dim, kind)
        if back is None:
            continue
        stats, acked, stored = back
        names = sorted(new)
        # Records of this run present with their new bytes, in input order.
        done = [n for n in names if stored.get(n) == new[n]]
        prefix = len(done)

        def replay(target, path=path, prefix=prefix, kind=kind, trial=trial):
            if kind != "fresh":
                shutil.copytree(template, target)
            if prefix == 0:
                return kind != "fresh"
            part = os.path.join(work, f"t{trial}.replay.jsonl")
            with open(path) as f, open(part, "w") as out:
                for _ in range(prefix):
                    out.write(f.readline())
            return run(binary, ingest(target, part, part + ".log"), timeout=600).returncode == 0
        check_store(binary, trial, db, have_check, replay)
        if done != names[:prefix]:
            finding(trial, f"{kind}: committed records are not a prefix of the input ({prefix} present, not contiguous)")
        check_batches(trial, kind, acked, prefix, B, N, "records stored bit-identical")
        # Everything else in the store must be exactly what was there before.
        old = {} if kind == "fresh" else v1
        expected_names = set(old) | set(done)
        if set(stored) != expected_names:
            extra = set(stored) - expected_names
            missing = expected_names - set(stored)
            finding(trial, f"{kind}: {len(extra)} unexpected and {len(missing)} missing subjects (e.g. {sorted(extra or missing)[:3]})")
        for n, v in old.items():
            if kind == "update" and n in done:
                continue
            if stored.get(n) != v:
                finding(trial, f"{kind}: untouched record {n} changed")
                break
        count = space_count(stats, space)
        if count != len(stored):
            finding(trial, f"stats --json says {count} embeddings, the store holds {len(stored)}")
        if not a.keep:
            shutil.rmtree(db, ignore_errors=True)

    dataset_trials, dataset_killed = dataset_crash_trials(a, binary, work, rng, have_check, a.trials)
    if dataset_trials:
        counts["dataset"] = dataset_trials
    killed_count += dataset_killed
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    a.trials += dataset_trials
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"crash-harness: {a.trials} trials ({summary}), {killed_count} killed mid-run, "
          f"{a.trials - killed_count} finished before the kill; {len(FINDINGS)} findings")
    return 1 if FINDINGS else 0


FINDINGS_KILLED = []


def delete_trial(binary, trial, db, log, args, delay, delete_list, before, space, dim, B, have_check, replay):
    """`fute-db delete` killed at `delay`: the deletions are whole batches in list order, acknowledged ones
    done, everything else bit-identical to `before`."""
    killed, status, err = kill_at(binary, args, delay)
    FINDINGS_KILLED.append(1 if killed else 0)
    if not killed and status != 0:
        finding(trial, f"delete exited {status} on its own: {err.strip()[:300]}")
        return
    back = read_back(binary, trial, db, log, space, dim, "delete")
    if back is None:
        return
    stats, acked, stored = back
    L = len(delete_list)
    gone = [n for n in delete_list if n not in stored]
    prefix = len(gone)
    check_store(binary, trial, db, have_check, lambda target: replay(target, prefix))
    if gone != delete_list[:prefix]:
        finding(trial, f"delete: the {prefix} deleted names are not the first {prefix} of the list (not in order)")
    check_batches(trial, "delete", acked, prefix, B, L, "names gone")
    if not killed and prefix != L:
        finding(trial, f"delete finished (exit 0) but only {prefix} of {L} names are gone")
    deleted = set(delete_list[:prefix])
    expected = {n: v for n, v in before.items() if n not in deleted}
    if set(stored) != set(expected):
        extra, missing = set(stored) - set(expected), set(expected) - set(stored)
        finding(trial, f"delete: {len(extra)} unexpected and {len(missing)} missing subjects (e.g. {sorted(extra or missing)[:3]})")
    changed = [n for n, v in expected.items() if n in stored and stored[n] != v]
    if changed:
        finding(trial, f"delete: {len(changed)} remaining records changed (e.g. {changed[:3]})")
    count = space_count(stats, space)
    if count != len(stored):
        finding(trial, f"stats --json says {count} embeddings, the store holds {len(stored)}")


def subject_and_vector(db, name, dim):
    """(subject recorded?, embedding bytes or None) for `name`, from mdb_dump."""
    dbs = mdb_dump_all(db)
    ids = {k.decode('utf-8'): struct.unpack('>Q', v[-8:])[0] for k, v in dbs.get("subject_ids", [])}
    if name not in ids:
        return False, None
    for key, value in dbs.get("embeddings", []):
        if struct.unpack('>Q', key[4:12])[0] == ids[name]:
            return True, value[-4 * dim:] if len(value) >= 4 * dim else value
    return True, None


def dataset_crash_trials(a, binary, work, rng, have_check, first_trial):
    """`ingest --dataset` killed at random moments: the subject and its embedding appear together or not at all."""
    if a.dataset_trials <= 0:
        return 0, 0
    if not os.path.isfile(os.path.join(a.encoder, "model.safetensors")):
        print(f"crash-harness: note: no encoder at {a.encoder} (Tools/fetch-minilm.sh); dataset trials skipped")
        return 0, 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dataset = a.dataset or os.path.join(root, "..", "shared", "data", "tasks", "sst2.jsonl")
    if not os.path.isfile(dataset):
        print(f"crash-harness: note: no dataset at {dataset}; dataset trials skipped")
        return 0, 0
    args = lambda db: ["ingest", "--db", db, "--space", "dte", "--dataset", dataset, "--name", "task",
                       "--encoder", a.encoder, "--max-examples", "40"]
    reference = os.path.join(work, "dataset-reference")
    start = time.monotonic()
    full = run(binary, args(reference), timeout=900)
    elapsed = time.monotonic() - start
    if full.returncode != 0:
        finding("dataset calibration", f"ingest --dataset failed: {full.stderr.strip()[:300]}")
        return 0, 0
    stats = json.loads(run(binary, ["stats", "--db", reference, "--json"]).stdout)
    dim = stats["spaces"][0]["dimension"]
    _, expected = subject_and_vector(reference, "task", dim)
    # The first run pays for cold caches (weights, binary): kill within the first 60% of its time.
    window = 0.6 * elapsed
    print(f"crash-harness: ingest --dataset ({dim}-d DTE) takes {elapsed:.2f} s; {a.dataset_trials} dataset trials, kills in [0, {window:.2f}] s")
    killed_count = 0
    for i in range(a.dataset_trials):
        trial = first_trial + i
        db = os.path.join(work, f"d{i}")
        killed, status, err = kill_at(binary, args(db), rng.uniform(0, window))
        killed_count += killed
        if not killed and status != 0:
            finding(trial, f"ingest --dataset exited {status} on its own: {err.strip()[:300]}")
            continue
        if not os.path.exists(os.path.join(db, "data.mdb")):
            continue
        if check_store(binary, trial, db, have_check) is None:
            continue
        try:
            has_subject, vector = subject_and_vector(db, "task", dim)
        except Exception as e:  # noqa: BLE001
            finding(trial, f"dataset: cannot read back: {e}")
            continue
        if has_subject and vector is None:
            finding(trial, "dataset: the subject was stored without its embedding (half-made)")
        elif vector is not None and vector != expected:
            finding(trial, "dataset: the stored DTE differs from an uninterrupted run's")
        if not killed and vector is None:
            finding(trial, "dataset: ingest finished but no embedding is stored")
        shutil.rmtree(db, ignore_errors=True)
    return a.dataset_trials, killed_count


if __name__ == "__main__":
    sys.exit(main())
