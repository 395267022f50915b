"""Runs SQL over Workers Analytics Engine data points in ClickHouse (chDB, in process).

Reads JSON from stdin: {"points": [{"timestamp": <unix seconds>, "index1": str,
"blobs": [str, ...], "doubles": [float, ...]}, ...], "queries": [sql, ...]}; puts the points
into a table `edgeward_events` with Analytics Engine's columns (timestamp, index1, blob1-blob20,
double1-double20, _sample_interval = 1: nothing sampled); runs each query over it and writes
their rows as JSON to stdout: [[row, ...], ...]. A query that fails is an error naming it.
"""

import json
import sys

import tempfile

from chdb import session

BLOBS = 20
DOUBLES = 20


def main() -> None:
    given = json.load(sys.stdin)
    columns = ["timestamp DateTime", "index1 String", "_sample_interval UInt32"]
    columns += [f"blob{i} String" for i in range(1, BLOBS + 1)]
    columns += [f"double{i} Float64" for i in range(1, DOUBLES + 1)]
    rows = []
    for p in given["points"]:
        row = {"timestamp": int(p["timestamp"]), "index1": p["index1"], "_sample_interval": 1}
        for i, blob in enumerate(p["blobs"][:BLOBS], start=1):
            row[f"blob{i}"] = blob or ""
        for i, double in enumerate(p["doubles"][:DOUBLES], start=1):
            row[f"double{i}"] = double or 0
        rows.append(json.dumps(row))
    answers = []
    with tempfile.TemporaryDirectory() as path:
        db = session.Session(path)
        db.query(f"CREATE TABLE edgeward_events ({', '.join(columns)}) ENGINE = Memory")
        if rows:
            db.query("INSERT INTO edgeward_events FORMAT JSONEachRow\n" + "\n".join(rows))
        for query in given["queries"]:
            try:
                out = db.query(query.strip().rstrip(";"), "JSONEachRow")
            except Exception as e:  # chDB raises its own error types
                sys.exit(f"the query failed: {e}\n{query}")
            text = out.bytes().decode() if hasattr(out, "bytes") else str(out)
            answers.append([json.loads(line) for line in text.splitlines() if line.strip()])
        db.close()
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
