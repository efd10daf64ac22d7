#!/usr/bin/env python3
"""Generates Tests/Fixtures/eval-sklearn.json ONCE, as an independent check of fute-db's eval.

NDCG comes from scikit-learn's `ndcg_score`. sklearn uses *linear* gains (gain = y_true);
fute-db (issue 4) uses exponential gains 2^rel - 1. So each case passes the transformed gains
y_true = 2**rel - 1 to sklearn, which makes sklearn's DCG equal to the issue's formula.
Similarities are distinct within a case (sklearn averages over tied scores; fute-db breaks ties
by name), so both orderings agree. Regret@k and rho are computed here with numpy, independently
of the Swift code.

Usage: python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
       /tmp/skl/bin/python Tools/make-eval-fixtures.py > Tests/Fixtures/eval-sklearn.json
"""
import json
import numpy as np
import sklearn
from sklearn.metrics import ndcg_score

rng = np.random.default_rng(20240524)
cases = []
for case in range(60):
    n = int(rng.integers(2, 13))
    names = [f"s{i:02d}" for i in range(n)]
    similarity = rng.permutation(n).astype(float) / n + rng.uniform(0, 1e-3, n)  # distinct
    if case % 3 == 0:
        relevance = rng.integers(0, 4, n).astype(float)           # graded 0..3, ties
    elif case % 3 == 1:
        relevance = np.round(rng.uniform(0, 1, n), 6)              # accuracies
    else:
        relevance = np.round(rng.uniform(0, 5, n), 4)              # wide range
    if relevance.max() <= 0:
        relevance[0] = 1.0
    k = int([1, 3, 5, 10][case % 4])
    gains = 2.0 ** relevance - 1.0
    ndcg = float(ndcg_score([gains], [similarity], k=k))
    order = np.lexsort((np.array(names), -similarity))           # desc similarity, ties by name
    rel_in_order = relevance[order]
    best = relevance.max()
    regret = float(100.0 * (best - rel_in_order[:k].max()) / best)
    rho = int(np.flatnonzero(rel_in_order == best)[0] + 1)
    cases.append({
        "names": names,
        "similarity": similarity.tolist(),
        "relevance": relevance.tolist(),
        "k": k,
        "ndcg": ndcg,
        "regret": regret,
        "rho": rho,
    })

print(json.dumps({
    "generator": "Tools/make-eval-fixtures.py",
    "sklearn_version": sklearn.__version__,
    "note": "ndcg from sklearn.metrics.ndcg_score with y_true = 2**relevance - 1 (exponential gains)",
    "cases": cases,
}, indent=1))
