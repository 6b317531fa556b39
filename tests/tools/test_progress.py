import io

from layerwise.tools import Progress, progress


def test_progress_tracks_running_loss_accuracy_and_throughput():
    with Progress(total=3, disable=True) as bar:
        bar.update(batch_size=10, loss=2.0, correct=5)
        bar.update(batch_size=30, loss=1.0, correct=30)
    assert bar.samples == 40
    assert abs(bar.loss - (2.0 * 10 + 1.0 * 30) / 40) < 1e-12
    assert bar.accuracy == 35 / 40 and bar.samples_per_second > 0


def test_progress_is_quiet_off_terminal():
    # tqdm's disable=None turns the bar off when the stream is not a TTY
    stream = io.StringIO()
    items = list(progress(range(5), file=stream))
    assert items == list(range(5)) and stream.getvalue() == ""


def test_progress_draws_when_enabled():
    stream = io.StringIO()
    bar = Progress(total=2, disable=False, file=stream)
    bar.update(batch_size=4, loss=0.5, correct=2)
    bar.close()
    assert "loss=0.5000" in stream.getvalue() and "acc=50.00%" in stream.getvalue()
