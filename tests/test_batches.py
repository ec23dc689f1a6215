"""dimensions.batches: a bad video fails alone, a failing chunk fails only its videos, order is kept."""

from __future__ import annotations

import pytest

from pytest_vbench.dimensions.batches import in_batches, one
from pytest_vbench.runner import failure
from pytest_vbench.suite import VideoRef
from pytest_vbench.video import VideoError


def test_errors_stay_with_their_video_and_their_chunk(tmp_path):
    videos = [VideoRef(tmp_path / f"p-{i}.mp4", i) for i in range(7)]
    runs = []

    def prepare(video):
        if video.sample == 1:
            raise VideoError(f"{video.path}: unreadable")
        return video.sample * 10

    def run(inputs, chunk):
        runs.append(inputs)
        if 50 in inputs:
            raise ZeroDivisionError("model blew up")
        return [x + 1 for x in inputs]

    out = in_batches(videos, prepare, run, 2)
    assert runs == [[0, 20], [30, 40], [50, 60]]  # video 1 never reaches the model
    assert out[0] == 1 and out[2] == 21 and out[3] == 31 and out[4] == 41
    assert isinstance(out[1], VideoError)
    assert isinstance(out[5], ZeroDivisionError) and out[5] is out[6]
    message = failure(videos[5], out[5]).error  # the runner names the file and shows where it happened
    assert str(videos[5].path) in message and "ZeroDivisionError: model blew up" in message and "in run" in message


def test_a_chunk_with_the_wrong_number_of_outcomes_fails_its_videos(tmp_path):
    videos = [VideoRef(tmp_path / f"p-{i}.mp4", i) for i in range(3)]
    out = in_batches(videos, lambda v: v.sample, lambda inputs, chunk: inputs[:1], 3)
    assert all(isinstance(o, RuntimeError) and "3 video(s) gave 1 outcome(s)" in str(o) for o in out)


def test_one_raises_the_error_of_its_video(tmp_path):
    video = VideoRef(tmp_path / "p-0.mp4", 0)
    assert one(lambda videos, case, runtime: [7], video, None, None) == 7
    with pytest.raises(VideoError, match="bad"):
        one(lambda videos, case, runtime: [VideoError("bad")], video, None, None)


def test_each_video_is_reported_live_when_its_chunk_ends(tmp_path):
    videos = [VideoRef(tmp_path / f"p-{i}.mp4", i) for i in range(5)]
    said: list[tuple[str, bool]] = []
    runtime = type("R", (), {"video_done": lambda self, v, s, failed: said.append((v.path.name, failed))})()

    def prepare(video):
        if video.sample == 1:
            raise VideoError("unreadable")
        return video.sample

    def run(inputs, chunk):
        if 4 in inputs:
            raise RuntimeError("chunk fails")  # videos 3 and 4 share a chunk
        return inputs

    in_batches(videos, prepare, run, 2, runtime)
    assert sorted(said) == [("p-0.mp4", False), ("p-1.mp4", True), ("p-2.mp4", False), ("p-3.mp4", True),
                            ("p-4.mp4", True)]
    assert said[0] == ("p-1.mp4", True)  # a video that fails to prepare is reported at once
