# Reference numbers for tests/test_perception_metrics.cpp (CocoEval.MatchesPycocotools...): writes a
# small random COCO ground truth and detection list from a fixed seed and prints pycocotools'
# COCOeval (iouType 'bbox') stats. Not part of the build: run by hand
#   python3 -m venv /tmp/coco-venv && /tmp/coco-venv/bin/pip install pycocotools numpy
#   /tmp/coco-venv/bin/python tests/reference/coco_reference.py /tmp/coco-ref
# then paste /tmp/coco-ref/gt.json, dt.json and the printed stats into the test.
#
# The data exercises: images listed out of id order, three categories plus one without ground
# truth, crowd regions with detections inside them, small/medium/large boxes (one GT of area
# exactly 32^2), a GT `area` smaller than its box (as for masks), duplicate and mislabelled
# detections, and scores rounded to two decimals so that ties across images occur.
import json
import os
import random
import sys

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

rng = random.Random(20240611)
W, H = 640, 480
image_ids = [7, 3, 12, 5, 9]
categories = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"},
              {"id": 3, "name": "bicycle"}, {"id": 4, "name": "bus"}]


def r1(v):
    return round(v, 1)


def random_size():
    kind = rng.choice(["small", "small", "medium", "large"])
    lo, hi = {"small": (4, 30), "medium": (34, 90), "large": (100, 220)}[kind]
    return rng.uniform(lo, hi), rng.uniform(lo, hi)


def random_box():
    w, h = random_size()
    return [r1(rng.uniform(0, W - w)), r1(rng.uniform(0, H - h)), r1(w), r1(h)]


gt, dt = [], []
for img in image_ids:
    for _ in range(rng.randint(3, 6)):
        b = random_box()
        area = r1(b[2] * b[3] * rng.uniform(0.6, 1.0))
        gt.append({"image_id": img, "category_id": rng.randint(1, 3), "bbox": b, "area": area,
                   "iscrowd": 0})
    if img in (3, 12):  # a crowd region with detections inside it
        b = [r1(rng.uniform(0, 300)), r1(rng.uniform(0, 200)), 200.0, 150.0]
        gt.append({"image_id": img, "category_id": 1, "bbox": b, "area": r1(200 * 150 * 0.5),
                   "iscrowd": 1})
        for _ in range(2):
            w, h = rng.uniform(10, 60), rng.uniform(10, 60)
            dt.append({"image_id": img, "category_id": 1,
                       "bbox": [r1(b[0] + rng.uniform(0, 200 - w)), r1(b[1] + rng.uniform(0, 150 - h)),
                                r1(w), r1(h)], "score": round(rng.uniform(0.2, 1.0), 2)})
gt.append({"image_id": 5, "category_id": 2, "bbox": [100.0, 100.0, 32.0, 32.0], "area": 1024.0,
           "iscrowd": 0})

for g in gt:
    if g["iscrowd"] or rng.random() > 0.85:
        continue
    x, y, w, h = g["bbox"]
    for copy in range(2 if rng.random() < 0.2 else 1):
        j = 0.12 * (copy + 1)
        nw, nh = w * rng.uniform(1 - j, 1 + j), h * rng.uniform(1 - j, 1 + j)
        cat = g["category_id"] if rng.random() > 0.1 else rng.randint(1, 3)
        dt.append({"image_id": g["image_id"], "category_id": cat,
                   "bbox": [r1(x + w * rng.uniform(-j, j)), r1(y + h * rng.uniform(-j, j)), r1(nw),
                            r1(nh)], "score": round(rng.uniform(0.3, 1.0), 2)})
for img in image_ids:  # false positives, some of the category without ground truth
    for _ in range(rng.randint(1, 3)):
        dt.append({"image_id": img, "category_id": rng.randint(1, 4), "bbox": random_box(),
                   "score": round(rng.uniform(0.05, 0.9), 2)})

for i, g in enumerate(gt):
    g["id"] = i + 1
out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)


def lines(items):
    return "[\n" + ",\n".join(json.dumps(x, separators=(",", ":")) for x in items) + "\n]"


with open(os.path.join(out, "gt.json"), "w") as f:
    f.write('{"images":' + json.dumps([{"id": i} for i in image_ids], separators=(",", ":")) +
            ',\n"categories":' + json.dumps(categories, separators=(",", ":")) +
            ',\n"annotations":' + lines(gt) + "}\n")
with open(os.path.join(out, "dt.json"), "w") as f:
    f.write(lines(dt) + "\n")

coco_gt = COCO(os.path.join(out, "gt.json"))
coco_dt = coco_gt.loadRes(os.path.join(out, "dt.json"))
E = COCOeval(coco_gt, coco_dt, "bbox")
E.evaluate()
E.accumulate()
E.summarize()
print("stats:", ", ".join(repr(float(v)) for v in E.stats))
print("gt", len(gt), "dt", len(dt))
