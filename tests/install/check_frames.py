"""Checks the JSON lines of the detect_json examples (C++ or Python).

    check_frames.py fixtures|real FRAMES WIDTH HEIGHT OUT.jsonl [OTHER.jsonl]

Every frame carries the rain meta (sapnetderain rain-meta=true; 1 stage with the fixtures, 2 with
the real models). fixtures: the tiny models of make_fixture_models.cpp: every frame has the
detector's fixed box (class 2, score 0.8, the middle half of the frame) and the segmenter's map
(left half class 0, the right quarters 1 and 2). real: YOLOv5n and ESPNet on the street clip: 20 classes, walkers (COCO
class 0) found. With OTHER, both files must describe the same frames (C++ against Python).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(kind, frames, width, height, lines):
    stages = 1 if kind == "fixtures" else 2
    assert [f["frame"] for f in lines] == list(range(frames)), [f["frame"] for f in lines]
    for f in lines:
        rain = f["rain"]  # the tests run sapnetderain with rain-meta=true
        assert rain and rain["derained"] and rain["stages"] == stages and rain["score"] >= 0, rain
        seg = f["segmentation"]
        assert seg and (seg["width"], seg["height"]) == (width, height), seg
        assert sum(seg["pixels"]) == width * height, seg
        for r in f["regions"]:
            x, y, w, h = r["box"]
            assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, r
        if kind == "fixtures":
            box = [width // 4, height // 4, width // 2, height // 2]
            assert any(r["class"] == 2 and abs(r["confidence"] - 0.8) < 1e-4 and r["box"] == box
                       and r["label"] == "class-2" for r in f["regions"]), f["regions"]
            half = width * height // 2
            assert seg["classes"] == 3 and seg["pixels"] == [half, half // 2, half // 2], seg
        else:
            assert seg["classes"] == 20, seg
    if kind == "real":
        assert any(r["class"] == 0 for f in lines for r in f["regions"]), "no walker found"


def same(a, b):
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        assert x["frame"] == y["frame"] and x["pts"] == y["pts"], (x, y)
        assert x["rain"]["stages"] == y["rain"]["stages"], (x["rain"], y["rain"])
        assert abs(x["rain"]["score"] - y["rain"]["score"]) < 1e-3, (x["rain"], y["rain"])
        assert x["segmentation"] == y["segmentation"], (x["segmentation"], y["segmentation"])
        assert len(x["regions"]) == len(y["regions"]), (x["regions"], y["regions"])
        for r, s in zip(x["regions"], y["regions"]):
            assert (r["label"], r["class"], r["box"]) == (s["label"], s["class"], s["box"]), (r, s)
            assert abs(r["confidence"] - s["confidence"]) < 1e-3, (r, s)


def main():
    kind, frames, width, height, path = sys.argv[1:6]
    lines = load(path)
    check(kind, int(frames), int(width), int(height), lines)
    if len(sys.argv) > 6:
        same(lines, load(sys.argv[6]))
    print(f"check_frames: {len(lines)} frame(s) as expected")


if __name__ == "__main__":
    main()
