"""A metrics log: one row per step or epoch, appended to a ``.csv`` or ``.jsonl`` file.

    log = MetricsLog("runs/exp1/metrics.csv")
    log.log(epoch=1, train_loss=0.41, test_acc=0.93)       # or log.log({"epoch": 1, ...})
    fit(model, ..., on_epoch_end=log.on_epoch_end)         # one row per epoch from fit's history
    rows = read_metrics("runs/exp1/metrics.csv")           # [{'epoch': 1, 'train_loss': 0.41, ...}]
    cols = read_metrics("runs/exp1/metrics.csv", columns=True)   # {'epoch': [1, ...], ...}

Every row is on disk when ``log`` returns: the file is opened, appended to and closed for each
row, so a crash loses nothing already logged and another program can follow the file.

New keys are welcome in both formats.  JSON Lines stores each row as it is.  A CSV file has one
header, so when a row brings a key the header lacks, the file is rewritten with the widened
header (earlier rows get empty cells in the new columns) into a temporary file that then
replaces the old one atomically — a crash mid-rewrite leaves the old file intact.  Columns keep
the order in which keys were first seen.  An empty CSV cell reads back as ``None`` (a missing
value), numbers read back as int or float, anything else as the string written.

Values may be Python numbers, strings, booleans, None, NumPy scalars or one-element layerwise
Tensors.  NaN and infinity are kept (``NaN``/``Infinity`` in JSON Lines, as Python's json
module writes and reads them; ``nan``/``inf`` in CSV).
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile

__all__ = ["MetricsLog", "read_metrics"]


def _format(path):
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".csv":
        return "csv"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    raise ValueError(f"MetricsLog: {path!r} should end in .csv or .jsonl")


def _plain(value):
    """A JSON/CSV-friendly Python value (numbers, strings, bools, None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    item = getattr(value, "item", None)          # NumPy scalars, 0-d arrays, one-element Tensors
    if item is not None:
        try:
            return _plain(item())
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"MetricsLog: a metric must be a single value, got {value!r}") from e
    raise TypeError(f"MetricsLog: cannot log a value of type {type(value).__name__}")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)                           # round-trips exactly; 'nan', 'inf'
    return str(value)


def _parse_cell(text):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)                           # also 'nan', 'inf', '-inf'
    except ValueError:
        return text


class MetricsLog:
    """Append metric rows to ``path`` (``.csv`` or ``.jsonl``), flushed row by row.

    ``overwrite=False`` (the default) appends to an existing file — resuming a run continues
    its log; ``overwrite=True`` starts the file afresh.
    """

    def __init__(self, path, overwrite=False):
        self.path = os.fspath(path)
        self.format = _format(self.path)
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if overwrite or not os.path.exists(self.path):
            open(self.path, "w", encoding="utf-8").close()
        self.columns = []
        if self.format == "csv":
            with open(self.path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), None)
            self.columns = list(header or [])

    def log(self, row=None, **metrics):
        """Append one row: a dict, keyword arguments, or both."""
        values = dict(row or {})
        values.update(metrics)
        if not values:
            raise ValueError("MetricsLog.log: the row is empty")
        values = {str(k): _plain(v) for k, v in values.items()}
        if self.format == "jsonl":
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(values) + "\n")
            return
        new = [k for k in values if k not in self.columns]
        if new:
            self._widen(new)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([_csv_cell(values.get(c)) for c in self.columns])
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())

    append = log

    def _widen(self, new_columns):
        """Rewrite the CSV with more columns, atomically (temporary file + os.replace)."""
        with open(self.path, newline="", encoding="utf-8") as f:
            old = list(csv.reader(f))[1:]
        columns = self.columns + new_columns
        self._rewrite([columns] + [r + [""] * (len(columns) - len(r)) for r in old])
        self.columns = columns

    def keep_rows(self, keep):
        """Rewrite the file with only the rows for which ``keep(row)`` is true (``row`` as
        ``read_metrics`` gives it), atomically.  A run resumed from a checkpoint uses it to drop
        the rows its interrupted predecessor logged after that checkpoint, so that the log holds
        each step once.  Returns how many rows were dropped."""
        with open(self.path, newline="", encoding="utf-8") as f:
            if self.format == "jsonl":
                raw = [line for line in f if line.strip()]
                rows = [json.loads(line) for line in raw]
            else:
                raw = [r for r in list(csv.reader(f))[1:] if r]
                rows = [{k: v for k, v in zip(self.columns, map(_parse_cell, r)) if v is not None}
                        for r in raw]
        kept = [r for r, row in zip(raw, rows) if keep(row)]
        if len(kept) < len(raw):
            self._rewrite(kept if self.format == "jsonl" else [self.columns] + kept)
        return len(raw) - len(kept)

    def _rewrite(self, lines):
        """Replace the file by ``lines`` (JSON Lines: strings; CSV: lists of cells) atomically
        (a temporary file in the same folder, then os.replace)."""
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".metrics-", suffix=os.path.splitext(self.path)[1],
                                   dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                if self.format == "jsonl":
                    f.writelines(lines)
                else:
                    csv.writer(f, lineterminator="\n").writerows(lines)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def on_epoch_end(self, epoch, history):
        """For ``fit(..., on_epoch_end=log.on_epoch_end)``: log the epoch's row of ``history``."""
        self.log({k: v[-1] for k, v in history.items() if isinstance(v, list) and v})

    def read(self, columns=False):
        return read_metrics(self.path, columns=columns)

    def __repr__(self):
        return f"MetricsLog({self.path!r})"


def read_metrics(path, columns=False):
    """The rows of a metrics file as a list of dicts (keys absent from a row are left out),
    or, with ``columns=True``, a dict of lists with ``None`` where a row lacks the key."""
    path = os.fspath(path)
    fmt = _format(path)
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        if fmt == "jsonl":
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{path}, line {n}: not a JSON object ({e})") from e
        else:
            reader = csv.reader(f)
            header = next(reader, None) or []
            for r in reader:
                if not r:
                    continue
                rows.append({k: v for k, v in zip(header, map(_parse_cell, r)) if v is not None})
    if not columns:
        return rows
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    return {k: [r.get(k) for r in rows] for k in keys}
