#!/usr/bin/env python3
"""Makes the demo "models" and their predictions on U (Tools/samples/tasks/U.jsonl).

Each model is a logistic regression on all-MiniLM-L6-v2 sentence embeddings (from `fute-db embed`),
trained on one shipped task; it is then run on U as a black box and its class probabilities are
written as {"text", "text_pair"?, "probs": [...]} lines — the input of
`fute-db ingest --predictions`. Needs numpy and a built fute-db.

    python3 Tools/samples/tasks/make-predictions.py FUTE_DB_BINARY ENCODER_DIR
"""
import json, subprocess, sys
import numpy as np

binary, encoder = sys.argv[1], sys.argv[2]
here = "Tools/samples/tasks"

def embed(path):
    out = subprocess.run([binary, "embed", "--encoder", encoder, path], check=True, capture_output=True, text=True).stdout
    return np.array([json.loads(line) for line in out.splitlines()], dtype=np.float64)

def train(x, labels, iterations=300, lr=1.0, l2=1e-4):
    classes = sorted(set(labels))
    y = np.eye(len(classes))[[classes.index(l) for l in labels]]
    x = x * np.sqrt(x.shape[1])
    w = np.zeros((len(classes), x.shape[1])); b = np.zeros(len(classes))
    for _ in range(iterations):
        z = x @ w.T + b; z -= z.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
        g = (p - y) / len(x)
        w -= lr * (g.T @ x + l2 * w); b -= lr * g.sum(0)
    return classes, w, b

def predict(model, x):
    classes, w, b = model
    z = (x * np.sqrt(x.shape[1])) @ w.T + b; z -= z.max(1, keepdims=True); p = np.exp(z)
    return p / p.sum(1, keepdims=True)

u_rows = [json.loads(l) for l in open(f"{here}/U.jsonl") if l.strip()]
u = embed(f"{here}/U.jsonl")
for task, model_name in [("sst2", "sentiment-classifier"), ("ag_news", "topic-classifier")]:
    rows = [json.loads(l) for l in open(f"{here}/{task}.jsonl") if l.strip()]
    model = train(embed(f"{here}/{task}.jsonl"), [str(r["label"]) for r in rows])
    probs = predict(model, u)
    with open(f"{here}/predictions-{model_name}.jsonl", "w") as f:
        for row, p in zip(u_rows, probs):
            out = {"text": row["text"]}
            if row.get("text_pair") is not None:
                out["text_pair"] = row["text_pair"]
            out["probs"] = [round(float(v), 5) for v in p]
            f.write(json.dumps(out) + "\n")
    print(f"{model_name}: trained on {task} ({len(rows)} examples), classes {model[0]}, wrote predictions on {len(u_rows)} inputs")
