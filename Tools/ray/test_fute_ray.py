#!/usr/bin/env python3
"""Tests of Tools/ray/fute_ray.py on a local Ray (2 CPUs, no network), unittest only.

- The records the Ray tasks return equal, byte for byte, those of a serial `fute-db ingest --out`
  run of the same files and seed (so their floats are bit for bit equal), and the store holds them
  (datasets with TextEmb; a model's predictions with FUTE).
- A bad file is reported with its file:line message and the exit status is 1; the others are stored.
- A space made another way: the writer refuses every record, naming the differing provenance field.
- A binary killed by a signal is retried (--max-retries); a usage error exits 64.

Skips visibly (prints SKIP, exit 0) without Ray, the fute-db binary or the encoder weights.
Environment: FUTE_BIN (default .build/release/fute-db), FUTE_ENCODER_DIR (default
.build/models/all-MiniLM-L6-v2).
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.path.abspath(os.environ.get("FUTE_BIN", os.path.join(ROOT, ".build/release/fute-db")))
ENCODER = os.path.abspath(os.environ.get("FUTE_ENCODER_DIR", os.path.join(ROOT, ".build/models/all-MiniLM-L6-v2")))
SAMPLES = os.path.join(ROOT, "Tools/samples/tasks")

try:
    import ray
except ImportError:
    ray = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fute_ray  # noqa: E402


def truncated(source, destination, lines):
    """The first `lines` lines of a shipped sample, to keep the test quick."""
    with open(source, encoding="utf-8") as handle:
        head = handle.readlines()[:lines]
    with open(destination, "w", encoding="utf-8") as handle:
        handle.writelines(head)


class FuteRayTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="fute-ray-test-")
        cls.datasets = os.path.join(cls.folder, "datasets")
        cls.predictions = os.path.join(cls.folder, "predictions")
        os.makedirs(cls.datasets)
        os.makedirs(cls.predictions)
        for name in ("sst2", "trec", "rte"):
            truncated(os.path.join(SAMPLES, name + ".jsonl"), os.path.join(cls.datasets, name + ".jsonl"), 40)
        truncated(os.path.join(SAMPLES, "predictions-topic-classifier.jsonl"), os.path.join(cls.predictions, "topic.jsonl"), 24)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)

    @classmethod
    def tearDownClass(cls):
        ray.shutdown()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def fute(self, *arguments):
        result = subprocess.run([BINARY, *arguments], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, f"fute-db {' '.join(arguments)}: {result.stderr}")
        return result.stdout

    def drive(self, *arguments):
        """Runs the driver in this process (on the local Ray); returns (exit status, stderr)."""
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            status = fute_ray.main(["--encoder", ENCODER, "--binary", BINARY, *arguments])
        return status, errors.getvalue()

    def serial_record(self, kind, path, name, method, seed, threads=None):
        """The record of a plain `fute-db ingest --out` run (OpenBLAS threads: `threads`, else the machine's default)."""
        out = os.path.join(self.folder, f"serial-{name}-{method}-{seed}.jsonl")
        arguments = ["ingest", "--encoder", ENCODER, "--" + kind, path, "--name", name, "--seed", str(seed), "--out", out]
        environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads)) if threads else None
        result = subprocess.run([BINARY, *arguments, *(["--method", method] if kind == "dataset" else [])],
                                capture_output=True, text=True, env=environment)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, encoding="utf-8") as handle:
            return handle.read()

    def space_count(self, db, space):
        stats = json.loads(self.fute("stats", "--db", db, "--json"))
        return {s["name"]: s["embeddings"] for s in stats["spaces"]}.get(space, 0)

    def test_records_equal_a_serial_run_and_a_bad_file_is_reported(self):
        datasets = os.path.join(self.folder, "with-bad")
        shutil.copytree(self.datasets, datasets)
        with open(os.path.join(datasets, "bad.jsonl"), "w", encoding="utf-8") as handle:
            handle.write('{"text": "fine", "label": "a"}\n{"text": "no target"}\n')
        db, kept = os.path.join(self.folder, "store"), os.path.join(self.folder, "kept")
        status, errors = self.drive("--datasets", datasets, "--db", db, "--space", "t", "--method", "textemb", "--seed", "5",
                                    "--batch-size", "2", "--keep-records", kept)
        self.assertEqual(status, 1, errors)
        bad = os.path.join(datasets, "bad.jsonl")
        self.assertIn(f"failed: {bad}: {bad}:2:", errors)
        self.assertIn("3 stored in space 't'", errors)
        self.assertIn("1 failed", errors)
        # Every good file's record is byte for byte the serial run's (same floats, same provenance), at
        # the task's OpenBLAS thread count (--cpus-per-task, 1): encoder batches can sum differently on 2.
        for name in ("sst2", "trec", "rte"):
            with open(os.path.join(kept, name + ".record.jsonl"), encoding="utf-8") as handle:
                self.assertEqual(handle.read(), self.serial_record("dataset", os.path.join(datasets, name + ".jsonl"), name, "textemb", 5,
                                                                   threads=1), name)
        self.assertFalse(os.path.exists(os.path.join(kept, "bad.record.jsonl")))
        self.assertEqual(self.space_count(db, "t"), 3)

    def test_model_task_embeddings_from_predictions(self):
        db, kept = os.path.join(self.folder, "mte-store"), os.path.join(self.folder, "mte-kept")
        status, errors = self.drive("--predictions", self.predictions, "--db", db, "--space", "m", "--seed", "5", "--keep-records", kept)
        self.assertEqual(status, 0, errors)
        with open(os.path.join(kept, "topic.record.jsonl"), encoding="utf-8") as handle:
            topic = handle.read()
        # FUTE training's float sums depend on the OpenBLAS thread count (TextEmb's do not): the driver
        # runs every task with --cpus-per-task threads (1), so the serial run uses 1 thread too.
        self.assertEqual(topic, self.serial_record("predictions", os.path.join(self.predictions, "topic.jsonl"), "topic", "fute", 5, threads=1))
        record = json.loads(topic)
        self.assertEqual((record["kind"], record["embedding"], record["provenance"]["seed"]), ("model", "mte", 5))
        self.assertEqual(self.space_count(db, "m"), 1)

    def test_a_binary_killed_by_a_signal_is_retried(self):
        # A wrapper that kills itself (SIGKILL) on its first compute run of each file, then runs the real binary.
        markers = os.path.join(self.folder, "markers")
        os.makedirs(markers)
        wrapper = os.path.join(self.folder, "flaky-fute-db")
        with open(wrapper, "w", encoding="utf-8") as handle:
            handle.write(f"""#!/bin/sh
previous=""; name=""
for argument in "$@"; do [ "$previous" = "--name" ] && name="$argument"; previous="$argument"; done
case "$*" in *--out*)
  if [ ! -e "{markers}/$name" ]; then touch "{markers}/$name"; kill -9 $$; fi;;
esac
exec "{BINARY}" "$@"
""")
        os.chmod(wrapper, 0o755)
        db = os.path.join(self.folder, "retry-store")
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            status = fute_ray.main(["--encoder", ENCODER, "--binary", wrapper, "--datasets", self.datasets, "--db", db,
                                    "--space", "t", "--method", "textemb", "--max-retries", "2"])
        self.assertEqual(status, 0, errors.getvalue())
        self.assertEqual(len(os.listdir(markers)), 3, "each file's first run was killed")
        self.assertEqual(self.space_count(db, "t"), 3)
        # Without retries the kill is a failure, reported with the binary's status.
        shutil.rmtree(markers)
        os.makedirs(markers)
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            status = fute_ray.main(["--encoder", ENCODER, "--binary", wrapper, "--datasets", self.datasets, "--db", db,
                                    "--space", "t", "--method", "textemb", "--max-retries", "0"])
        self.assertEqual(status, 1, errors.getvalue())
        self.assertIn("3 failed", errors.getvalue())
        self.assertIn("exited with status -9", errors.getvalue())

    def test_predictions_with_a_method_other_than_fute_is_a_usage_error(self):
        status, errors = self.drive("--predictions", self.predictions, "--db", os.path.join(self.folder, "x"), "--space", "m", "--method", "textemb")
        self.assertEqual(status, 64, errors)
        self.assertIn("--predictions", errors)

    def test_writer_refuses_records_made_another_way(self):
        db = os.path.join(self.folder, "fute-store")
        # The space is made with FUTE (seed 0) from one small dataset.
        one = os.path.join(self.folder, "one.jsonl")
        truncated(os.path.join(SAMPLES, "yelp.jsonl"), one, 12)
        self.fute("ingest", "--db", db, "--space", "f", "--encoder", ENCODER, "--dataset", one, "--name", "yelp")
        status, errors = self.drive("--datasets", self.datasets, "--db", db, "--space", "f", "--method", "textemb")
        self.assertEqual(status, 1, errors)
        self.assertIn("3 failed", errors)
        for name in ("sst2", "trec", "rte"):
            self.assertIn(f"failed: {os.path.join(self.datasets, name + '.jsonl')}: refused by the writer", errors)
        self.assertIn("method: textemb vs fute", errors)
        self.assertEqual(self.space_count(db, "f"), 1, "nothing was added to the FUTE space")


if __name__ == "__main__":
    missing = ("Ray is not installed (pip install ray)" if ray is None else
               f"no fute-db binary at {BINARY} (swift build -c release)" if not os.access(BINARY, os.X_OK) else
               f"no encoder weights in {ENCODER} (Tools/fetch-minilm.sh)" if not os.path.isfile(os.path.join(ENCODER, "model.safetensors")) else None)
    if missing:
        print(f"SKIP: Tools/ray/test_fute_ray.py: {missing}; the Ray driver was not tested")
        sys.exit(0)
    unittest.main()
