"""``SummaryWriter``: TensorBoard event files, with torch.utils.tensorboard's interface.

    from layerwise.tools.tensorboard import SummaryWriter
    with SummaryWriter("runs/exp1") as w:
        for step in range(100):
            w.add_scalar("loss/train", loss, step)
        w.add_scalars("loss", {"train": 0.3, "test": 0.4}, step)    # runs/exp1/loss_train, loss_test
        w.add_histogram("fc1.weight", model[0].weight, step)
        w.add_image("input", x[0], step)                             # (C, H, W), floats in [0, 1]
        w.add_text("notes", "lr 3e-3, AdamW", 0)
    # then: tensorboard --logdir runs

The records are real TensorBoard event files written by the ``tensorboard`` package's own
``EventFileWriter`` and protocol buffers (``pip install 'layerwise[logging]'``); layerwise only
builds the summaries.  Values may be layerwise Tensors, NumPy arrays or Python numbers.
Images are encoded as PNG by a small encoder here (zlib only), so Pillow is not needed.
"""
from __future__ import annotations

import os
import socket
import struct
import time
import zlib
from datetime import datetime

import numpy as np

__all__ = ["SummaryWriter", "encode_png", "histogram_bins"]

_INSTALL_HINT = "pip install 'layerwise[logging]'"


def _tb():
    """The tensorboard pieces we use, imported on first use (tensorboard is an optional extra)."""
    try:
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:          # pragma: no cover - exercised only without tensorboard
        raise ImportError("layerwise.tools.tensorboard.SummaryWriter needs the tensorboard "
                          f"package: {_INSTALL_HINT}") from e
    return dict(Event=Event, SessionLog=SessionLog, HistogramProto=HistogramProto,
                Summary=Summary, SummaryMetadata=SummaryMetadata, TensorProto=TensorProto,
                TensorShapeProto=TensorShapeProto, TextPluginData=TextPluginData,
                EventFileWriter=EventFileWriter)


def _to_numpy(value):
    """A NumPy array from a layerwise Tensor (detached), an array, a number or a nested list."""
    data = getattr(value, "data", None)
    if isinstance(data, np.ndarray):              # layerwise.Tensor (and Parameter)
        return data
    if hasattr(value, "detach") and hasattr(value, "cpu"):   # a torch tensor, if someone passes one
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _to_scalar(value):
    arr = _to_numpy(value)
    if arr.size != 1:
        raise ValueError(f"add_scalar: expected a single value, got shape {tuple(arr.shape)}")
    return float(arr.reshape(()))


# ---------------------------------------------------------------------------- PNG
def _png_chunk(kind, payload):
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def encode_png(pixels):
    """PNG bytes of a uint8 image (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA.

    A PNG is a signature, an IHDR chunk (size, 8-bit depth, colour type), the zlib-compressed
    rows each prefixed by a filter byte (0 = none) in IDAT, and an empty IEND chunk.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"encode_png: expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ValueError(f"encode_png: expected (H, W), (H, W, 3) or (H, W, 4), got {pixels.shape}")
    h, w, c = pixels.shape
    if h == 0 or w == 0:
        raise ValueError("encode_png: empty image")
    colour_type = {1: 0, 3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(np.ascontiguousarray(rows).tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def _to_hwc(img, dataformats):
    """(H, W, C) from an image in ``dataformats`` ('CHW', 'HWC', 'HW', or 'NCHW'/'NHWC' grids)."""
    fmt = dataformats.upper()
    if sorted(fmt) != sorted(set(fmt)) or not set(fmt) <= set("NCHW"):
        raise ValueError(f"dataformats {dataformats!r}: use letters N, C, H, W once each")
    if img.ndim != len(fmt):
        raise ValueError(f"image of shape {tuple(img.shape)} does not match dataformats {dataformats!r}")
    if "N" in fmt:
        return _to_hwc(_grid(img.transpose([fmt.index(ch) for ch in "NCHW"])), "CHW")
    if fmt == "HW" or fmt == "WH":
        return img.transpose([fmt.index(ch) for ch in "HW"])[:, :, None]
    return img.transpose([fmt.index(ch) for ch in "HWC"])


def _grid(batch, ncols=8, pad=2):
    """Tile an (N, C, H, W) batch into one (C, H', W') image, up to ``ncols`` per row (zero gaps)."""
    n, c, h, w = batch.shape
    if c == 1:
        batch = np.repeat(batch, 3, axis=1)
        c = 3
    cols = min(ncols, n)
    rows = -(-n // cols)
    out = np.zeros((c, rows * (h + pad) + pad, cols * (w + pad) + pad), batch.dtype)
    for k in range(n):
        r, q = divmod(k, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[:, y:y + h, x:x + w] = batch[k]
    return out


def _to_uint8(img):
    """Floats are taken to lie in [0, 1] (scaled by 255 and clipped), uint8 is kept (torch's rule)."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    return (np.clip(img.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------- histograms
def histogram_bins(values, bins="tensorflow"):
    """Bin edges for ``add_histogram``.

    ``'tensorflow'``: TensorFlow's fixed buckets — edges ±1e-12·1.1^k up to 1e20 and 0, so the
    same edges serve every step; an int or a NumPy rule name ('auto', 'fd', ...): ``np.histogram``'s.
    """
    if isinstance(bins, str) and bins == "tensorflow":
        k = np.arange(int(np.ceil(np.log(1e20 / 1e-12) / np.log(1.1))))
        pos = 1e-12 * 1.1 ** k
        edges = np.concatenate([-pos[::-1], [0.0], pos])
        values = np.asarray(values)
        if values.size and values.min() < edges[0]:           # beyond ±1e20: one more bucket
            edges = np.concatenate([[values.min()], edges])
        if values.size and values.max() > edges[-1]:
            edges = np.concatenate([edges, [values.max()]])
        return edges
    return np.histogram_bin_edges(values, bins=bins)


def _histogram_proto(tb, values, bins, max_bins=None):
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("add_histogram: the values are empty")
    if not np.all(np.isfinite(values)):
        raise ValueError("add_histogram: the values contain NaN or infinity")
    edges = histogram_bins(values, bins)
    counts, edges = np.histogram(values, bins=edges)
    if max_bins is not None and len(counts) > max_bins:      # merge neighbouring buckets
        group = -(-len(counts) // max_bins)
        pad = (-len(counts)) % group
        counts = np.concatenate([counts, np.zeros(pad, counts.dtype)]).reshape(-1, group).sum(1)
        edges = np.concatenate([edges[:-1:group], edges[-1:]])
    # TensorBoard stores right edges only; keep the occupied range plus one empty bucket on the
    # left, whose right edge is the left edge of the first occupied bucket.
    nz = np.flatnonzero(counts)
    first, last = nz[0], nz[-1]
    right = edges[first:last + 2]              # left edge of `first`, then the right edges
    bucket = np.concatenate([[0], counts[first:last + 1]])
    return tb["HistogramProto"](min=float(values.min()), max=float(values.max()),
                                num=float(values.size), sum=float(values.sum()),
                                sum_squares=float(values @ values),
                                bucket_limit=right.tolist(), bucket=bucket.astype(float).tolist())


# ---------------------------------------------------------------------------- writer
class _FileWriter:
    """One event file in one folder (a 'run' in TensorBoard)."""

    def __init__(self, tb, log_dir, max_queue, flush_secs, filename_suffix):
        self.tb = tb
        self.events = tb["EventFileWriter"](str(log_dir), max_queue, flush_secs, filename_suffix)

    def add_summary(self, summary, global_step=None, walltime=None):
        event = self.tb["Event"](summary=summary)
        self.add_event(event, global_step, walltime)

    def add_event(self, event, global_step=None, walltime=None):
        event.wall_time = time.time() if walltime is None else float(walltime)
        if global_step is not None:
            event.step = int(global_step)
        self.events.add_event(event)

    def flush(self):
        self.events.flush()

    def close(self):
        self.events.close()


class SummaryWriter:
    """Write TensorBoard event files, as ``torch.utils.tensorboard.SummaryWriter``.

    ``log_dir`` defaults to ``runs/<Mon DD_HH-MM-SS>_<host><comment>``.  ``purge_step``:
    after a crash at step T+X and a restart from step T, pass T to hide the events logged
    at steps ≥ T by the earlier run.  Events are queued (``max_queue``) and written by a
    background thread at least every ``flush_secs``; ``flush()`` and ``close()`` write now.
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._tb = _tb()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = None
        self.all_writers = None
        self._get_file_writer()

    # ------------------------------------------------------------------ files
    def _get_file_writer(self):
        """The writer of the main run, (re)opened on first use after ``close()``."""
        if self.file_writer is None:
            tb = self._tb
            self.file_writer = _FileWriter(tb, self.log_dir, self.max_queue, self.flush_secs,
                                           self.filename_suffix)
            self.all_writers = {self.log_dir: self.file_writer}
            if self.purge_step is not None:
                # A SessionLog START at step T makes readers drop the older events with step ≥ T.
                self.file_writer.add_event(tb["Event"](file_version="brain.Event:2"),
                                           self.purge_step)
                self.file_writer.add_event(
                    tb["Event"](session_log=tb["SessionLog"](status=tb["SessionLog"].START)),
                    self.purge_step)
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary, global_step, walltime):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def _summary(self, **value):
        return self._tb["Summary"](value=[self._tb["Summary"].Value(**value)])

    # ------------------------------------------------------------------ summaries
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """One number (a float, a 1-element Tensor or array) under ``tag`` at ``global_step``."""
        value = _to_scalar(scalar_value)
        if new_style:
            tb = self._tb
            meta = tb["SummaryMetadata"](plugin_data=tb["SummaryMetadata"].PluginData(plugin_name="scalars"))
            tensor = (tb["TensorProto"](double_val=[value], dtype="DT_DOUBLE") if double_precision
                      else tb["TensorProto"](float_val=[value], dtype="DT_FLOAT"))
            summary = self._summary(tag=tag, tensor=tensor, metadata=meta)
        else:
            summary = self._summary(tag=tag, simple_value=value)
        self._add(summary, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves on one chart: each key is its own run, in the folder
        ``<log_dir>/<main_tag>_<key>`` ('/' in main_tag become '_'), under the tag ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        self._get_file_writer()
        for key, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + key)
            writer = self.all_writers.get(folder)
            if writer is None:
                writer = _FileWriter(self._tb, folder, self.max_queue, self.flush_secs,
                                     self.filename_suffix)
                self.all_writers[folder] = writer
            writer.add_summary(self._summary(tag=main_tag, simple_value=_to_scalar(value)),
                               global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """The distribution of ``values`` (any shape, flattened).  ``bins``: 'tensorflow' (fixed
        exponential buckets, the default), an int, or a NumPy rule such as 'auto'."""
        hist = _histogram_proto(self._tb, _to_numpy(values), bins, max_bins)
        self._add(self._summary(tag=tag, histo=hist), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """One image: floats in [0, 1] (scaled by 255 and clipped) or uint8 in [0, 255].
        ``dataformats``: 'CHW' (default), 'HWC', 'HW'; C is 1 (grey), 3 (RGB) or 4 (RGBA)."""
        img = _to_hwc(_to_numpy(img_tensor), dataformats)
        if img.shape[2] not in (1, 3, 4):
            raise ValueError(f"add_image: an image needs 1, 3 or 4 channels, got {img.shape[2]}")
        pixels = _to_uint8(img)
        h, w, c = pixels.shape
        image = self._tb["Summary"].Image(height=h, width=w, colorspace=c,
                                          encoded_image_string=encode_png(pixels))
        self._add(self._summary(tag=tag, image=image), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images tiled into one grid image (8 per row)."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats=dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib Figure (or a list of them, as a grid), rendered to an RGBA image."""
        figs = figure if isinstance(figure, (list, tuple)) else [figure]
        arrays = []
        for fig in figs:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            arrays.append(np.asarray(canvas.buffer_rgba()).copy())
            if close:
                try:
                    import matplotlib.pyplot as plt
                    plt.close(fig)
                except Exception:                 # figures not managed by pyplot
                    pass
        if len(arrays) == 1:
            self.add_image(tag, arrays[0], global_step, walltime, dataformats="HWC")
        else:
            batch = np.stack([a.transpose(2, 0, 1) for a in arrays])
            self.add_image(tag, batch, global_step, walltime, dataformats="NCHW")

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Markdown text, shown in TensorBoard's Text tab (stored under ``<tag>/text_summary``)."""
        tb = self._tb
        meta = tb["SummaryMetadata"](plugin_data=tb["SummaryMetadata"].PluginData(
            plugin_name="text", content=tb["TextPluginData"](version=0).SerializeToString()))
        tensor = tb["TensorProto"](
            dtype="DT_STRING", string_val=[str(text_string).encode("utf-8")],
            tensor_shape=tb["TensorShapeProto"](dim=[tb["TensorShapeProto"].Dim(size=1)]))
        self._add(self._summary(tag=tag + "/text_summary", metadata=meta, tensor=tensor),
                  global_step, walltime)

    # ------------------------------------------------------------------ lifetime
    def flush(self):
        """Write everything queued to disk now."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self):
        """Flush and close every event file; a later ``add_*`` opens a new file."""
        for writer in (self.all_writers or {}).values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"SummaryWriter(log_dir={self.log_dir!r})"
