#!/usr/bin/env python3
"""Embed many tasks on a Ray cluster and store them with one writer (issue 14).

One Ray task per file runs the `fute-db` binary in compute-only mode
(`fute-db ingest --dataset F --out RECORD.jsonl`, or `--predictions F`) on a worker and returns
the record's text; the driver collects records as they finish (`ray.wait`) and is the store's only
writer: it stores them in batches with `fute-db ingest RECORDS.jsonl --space S`, which refuses a
record whose provenance (encoder checksum, method, seed, settings) differs from the space's.

    python3 Tools/ray/fute_ray.py --datasets DIR [--predictions DIR] --encoder DIR \
        --binary .build/release/fute-db --db STORE --space S [--method textemb] [--seed 0] \
        [--address auto]

Failures: a file the binary refuses (exit 1 or 64: bad line, unknown key, ...) is a permanent
failure, reported once and never retried; a worker or node that dies, or a binary killed by a
signal, is retried by Ray up to --max-retries times. A batch the writer refuses is retried record
by record, so one bad record does not keep the others out. The summary lists every failure with
its message; the exit status is 1 when anything failed, 64 for bad arguments.

The encoder folder and the binary reach the workers by a path every node sees (default; a shared
file system or the same install on every node), or with --ship through Ray's runtime_env (the
driver uploads them as the job's working_dir). See README, "Many tasks on a cluster (Ray)".
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import ray
except ImportError:  # the module stays importable (for --help and the test's skip) without Ray
    ray = None

# Exit statuses of `fute-db` that mean "this input is wrong": retrying cannot help.
PERMANENT_STATUSES = (1, 64)


class TransientFailure(Exception):
    """The binary died for a reason outside the input (a signal, an unexpected status): Ray retries it."""


def note(message):
    """One progress line on stderr."""
    print(f"fute_ray: {message}", file=sys.stderr, flush=True)


def embed_file(binary, encoder, kind, name, path, data, method, seed, max_examples, threads):
    """Runs `fute-db ingest --out` on one file in a temporary folder; returns a result dict.

    `data` is the file's bytes (sent by the driver, so workers need no access to the dataset
    folder); it is written under the file's own name, so the record's `source_file` and any error
    message name the original file. A refused input returns {"ok": False, "error": ...}; a crash
    raises TransientFailure so that Ray retries the task.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fute-ray-") as folder:
        local = os.path.join(folder, os.path.basename(path))
        with open(local, "wb") as handle:
            handle.write(data)
        out = os.path.join(folder, "record.jsonl")
        command = [binary, "ingest", "--encoder", encoder, "--" + kind, local, "--name", name, "--seed", str(seed), "--out", out]
        if kind == "dataset":
            command += ["--method", method]
        if max_examples is not None:
            command += ["--max-examples", str(max_examples)]
        environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        stderr = result.stderr.replace(local, path).strip()
        if result.returncode in PERMANENT_STATUSES:
            error = " ".join(line.removeprefix("fute-db: error: ") for line in stderr.splitlines() if line.startswith("fute-db: error: "))
            return {"ok": False, "name": name, "path": path, "error": error or stderr or f"exit status {result.returncode}"}
        if result.returncode != 0:
            raise TransientFailure(f"{path}: fute-db exited with status {result.returncode}: {stderr[-2000:]}")
        with open(out, encoding="utf-8") as handle:
            record = handle.read()
    return {"ok": True, "name": name, "path": path, "record": record, "seconds": time.monotonic() - started,
            "node": os.uname().nodename}


def parse_arguments(argv):
    """The driver's options (argparse; exits 64 on a usage error)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="folder of labelled datasets (*.jsonl); one DTE/TextEmb per file, named by the file's stem")
    parser.add_argument("--predictions", help="folder of model predictions (*.jsonl); one MTE per file (always method fute)")
    parser.add_argument("--encoder", required=True, help="encoder folder (all-MiniLM-L6-v2) at a path every node sees, or shipped with --ship")
    parser.add_argument("--binary", required=True, help="the fute-db binary at a path every node sees, or shipped with --ship")
    parser.add_argument("--db", required=True, help="the store (written by the driver only)")
    parser.add_argument("--space", required=True, help="the space to store the task embeddings in")
    parser.add_argument("--method", default="fute", choices=["fute", "textemb", "examples"], help="method for datasets (default: fute)")
    parser.add_argument("--seed", type=int, default=0, help="surrogate seed (default: 0)")
    parser.add_argument("--max-examples", type=int, help="examples per file (default: fute-db's, 300 for datasets)")
    parser.add_argument("--address", help="Ray cluster to join, e.g. auto or HEAD:6379 (default: a local Ray on this machine)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray started without --address (default: all)")
    parser.add_argument("--cpus-per-task", type=int, default=1, help="CPUs reserved per file; also the task's OpenBLAS threads (default: 1)")
    parser.add_argument("--batch-size", type=int, default=16, help="records per writer ingest (one transaction each; default: 16)")
    parser.add_argument("--max-retries", type=int, default=3, help="retries of a task whose worker or binary died (default: 3)")
    parser.add_argument("--ship", action="store_true", help="send the binary and the encoder to the workers with Ray's runtime_env (working_dir) instead of a shared path")
    parser.add_argument("--keep-records", help="also write every record to this folder as NAME.record.jsonl")
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit:
        raise SystemExit(64 if exit.code else 0)
    if not arguments.datasets and not arguments.predictions:
        parser.print_usage(sys.stderr)
        print("fute_ray: error: give --datasets DIR and/or --predictions DIR", file=sys.stderr)
        raise SystemExit(64)
    if arguments.predictions and arguments.method != "fute":
        parser.print_usage(sys.stderr)
        print(f"fute_ray: error: --predictions makes model task embeddings with method fute, which a --method {arguments.method} "
              "space cannot hold; store predictions in a space of method fute (run them separately)", file=sys.stderr)
        raise SystemExit(64)
    return arguments


def list_inputs(arguments):
    """[(kind, name, path)] of every *.jsonl file, datasets first, sorted by name; names must be unique."""
    inputs, seen = [], {}
    for kind, folder in (("dataset", arguments.datasets), ("predictions", arguments.predictions)):
        if not folder:
            continue
        if not os.path.isdir(folder):
            raise SystemExit(f"fute_ray: error: --{'datasets' if kind == 'dataset' else 'predictions'} {folder} is not a folder")
        for entry in sorted(os.listdir(folder)):
            if not entry.endswith(".jsonl"):
                continue
            name, path = entry[: -len(".jsonl")], os.path.join(folder, entry)
            if name in seen:
                raise SystemExit(f"fute_ray: error: {path} and {seen[name]} would both be named '{name}'; rename one")
            seen[name] = path
            inputs.append((kind, name, path))
    if not inputs:
        raise SystemExit("fute_ray: error: no *.jsonl files in the given folders")
    return inputs


def ship(arguments):
    """A staging folder holding the binary and the encoder, for runtime_env's working_dir; their paths on the workers."""
    staging = tempfile.mkdtemp(prefix="fute-ray-ship-")
    shutil.copy2(arguments.binary, os.path.join(staging, "fute-db"))
    shutil.copytree(arguments.encoder, os.path.join(staging, "encoder"))
    # Relative to the working_dir, which is each worker's current directory.
    return staging, "./fute-db", "encoder"


class Writer:
    """The store's one writer: stores records in batches through `fute-db ingest RECORDS --space S`."""

    def __init__(self, arguments):
        self.binary = os.path.abspath(arguments.binary)
        self.db, self.space, self.batch_size = arguments.db, arguments.space, arguments.batch_size
        self.pending = []  # [(name, path, record text)]
        self.stored, self.failures, self.batches = [], [], 0
        self.folder = tempfile.mkdtemp(prefix="fute-ray-records-")

    def add(self, name, path, record):
        self.pending.append((name, path, record))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def ingest(self, items):
        """Runs one writer ingest of `items`; returns the error text, or None when stored."""
        self.batches += 1
        batch = os.path.join(self.folder, f"batch-{self.batches}.jsonl")
        with open(batch, "w", encoding="utf-8") as handle:
            handle.write("".join(record if record.endswith("\n") else record + "\n" for _, _, record in items))
        result = subprocess.run([self.binary, "ingest", "--db", self.db, "--space", self.space, "--batch-size", str(len(items)), batch],
                                capture_output=True, text=True)
        os.remove(batch)
        return None if result.returncode == 0 else (result.stderr.strip().removeprefix("fute-db: error: ") or f"exit status {result.returncode}")

    def flush(self):
        items, self.pending = self.pending, []
        if not items:
            return
        error = self.ingest(items)
        if error is None:
            self.stored += [name for name, _, _ in items]
            note(f"stored {len(items)} records in space '{self.space}' ({len(self.stored)} so far)")
            return
        # One transaction per batch: nothing of it was stored. Store record by record to keep the good ones.
        note(f"a batch of {len(items)} records was refused ({error}); storing them one by one")
        for item in items:
            error = self.ingest([item]) if len(items) > 1 else error
            if error is None:
                self.stored.append(item[0])
            else:
                self.failures.append((item[1], "refused by the writer: " + error))

    def close(self):
        self.flush()
        shutil.rmtree(self.folder, ignore_errors=True)


def run(arguments, inputs):
    """Embeds `inputs` (from ``list_inputs``) on the cluster, stores the records; returns the exit status."""
    binary, encoder = os.path.abspath(arguments.binary), os.path.abspath(arguments.encoder)
    for label, path, check in (("--binary", binary, os.path.isfile), ("--encoder", encoder, os.path.isdir)):
        if not check(path):
            print(f"fute_ray: error: {label} {path} does not exist", file=sys.stderr)
            return 64
    staging, started_ray = None, not ray.is_initialized()
    if started_ray:
        options = {"include_dashboard": False, "log_to_driver": False}
        if arguments.ship:
            staging, binary, encoder = ship(arguments)
            options["runtime_env"] = {"working_dir": staging}
        if arguments.address:
            ray.init(address=arguments.address, **options)
        else:
            ray.init(num_cpus=arguments.num_cpus, **options)
    elif arguments.ship:
        print("fute_ray: error: --ship needs the driver to start Ray (it sets the job's runtime_env)", file=sys.stderr)
        return 64
    if __name__ != "__main__":
        # Imported (e.g. by the test): send this module's code with the task, as for a script,
        # since workers need not be able to import it.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    task = ray.remote(embed_file).options(num_cpus=arguments.cpus_per_task, max_retries=arguments.max_retries,
                                          retry_exceptions=[TransientFailure])
    started = time.monotonic()
    pending = {}
    for kind, name, path in inputs:
        with open(path, "rb") as handle:
            data = handle.read()
        reference = task.remote(binary, encoder, kind, name, path, data, arguments.method, arguments.seed,
                                arguments.max_examples, arguments.cpus_per_task)
        pending[reference] = (name, path)
    note(f"{len(pending)} files submitted to Ray ({int(ray.cluster_resources().get('CPU', 0))} CPUs)")
    writer = Writer(arguments)
    if arguments.keep_records:
        os.makedirs(arguments.keep_records, exist_ok=True)
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        name, path = pending.pop(ready[0])
        done += 1
        try:
            result = ray.get(ready[0])
        except Exception as error:  # the task failed after its retries (worker died, binary crashed)
            message = str(error).strip().splitlines()
            writer.failures.append((path, message[-1] if message else type(error).__name__))
            note(f"[{done}/{done + len(pending)}] {path}: failed after retries")
            continue
        if not result["ok"]:
            writer.failures.append((path, result["error"]))
            note(f"[{done}/{done + len(pending)}] {path}: refused: {result['error']}")
            continue
        note(f"[{done}/{done + len(pending)}] {path}: embedded in {result['seconds']:.1f} s on {result['node']}")
        if arguments.keep_records:
            with open(os.path.join(arguments.keep_records, name + ".record.jsonl"), "w", encoding="utf-8") as handle:
                handle.write(result["record"])
        writer.add(name, path, result["record"])
    writer.close()
    if started_ray:
        ray.shutdown()
    if staging:
        shutil.rmtree(staging, ignore_errors=True)
    elapsed = time.monotonic() - started
    note(f"done in {elapsed:.1f} s: {len(writer.stored)} stored in space '{arguments.space}' of {arguments.db}, {len(writer.failures)} failed")
    for path, message in writer.failures:
        print(f"fute_ray: failed: {path}: {message}", file=sys.stderr)
    return 1 if writer.failures else 0


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    try:
        arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
        inputs = list_inputs(arguments)
    except SystemExit as exit:
        if isinstance(exit.code, str):
            print(exit.code, file=sys.stderr)
            return 64
        return exit.code or 0
    if ray is None:
        print("fute_ray: error: Ray is not installed; pip install ray", file=sys.stderr)
        return 1
    return run(arguments, inputs)


if __name__ == "__main__":
    sys.exit(main())
