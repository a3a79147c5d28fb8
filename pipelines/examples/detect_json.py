#!/usr/bin/env python3
"""detect_json.cpp in Python: decode a video, derain, detect, segment, and print one JSON line per
frame with the rain score, the detections and the class map's pixel counts, read from an appsink.

    python3 detect_json.py --input street.avi --detector det.pt --segmenter seg.pt --frames 10

Needs Debian's python3-gi, gir1.2-gst-plugins-base-1.0 and the installed sapnet plugin and metas
library (sapnet_meta.py, beside this file, reads the metas).
"""
import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401  (GstApp: appsink's pull signals)

import sapnet_meta  # noqa: E402


def pipeline_description(a):
    d = "filesrc name=src ! decodebin" if a.input else "videotestsrc pattern=ball"
    d += (f" ! videoconvert ! videoscale ! video/x-raw,format=RGB,width={a.width},height={a.height}"
          f" ! framelimit frames={a.frames} ! sapnetderain {a.derain_options}"
          f" ! sapnetdetect name=detect {a.detector_options}")
    if a.segmenter:
        d += f" ! sapnetsegment name=segment {a.segmenter_options}"
    return d + " ! appsink name=sink sync=false"


def frame_json(frame, buffer):
    seg = sapnet_meta.segmentation(buffer)
    segmentation = None
    if seg:
        pixels = [0] * seg.num_classes
        for class_id in seg.class_map:
            if class_id < seg.num_classes:
                pixels[class_id] += 1
        segmentation = {"width": seg.width, "height": seg.height, "classes": seg.num_classes,
                        "pixels": pixels}
    pts = buffer.pts if buffer.pts != Gst.CLOCK_TIME_NONE else None
    regions = sapnet_meta.regions(buffer)
    for r in regions:
        r["confidence"] = round(r["confidence"], 4)  # as the C++ example prints it
    rain = sapnet_meta.rain(buffer)
    if rain:
        rain["score"] = round(rain["score"], 4)
    return {"frame": frame, "pts": pts, "rain": rain, "regions": regions, "segmentation": segmentation}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", "-i", help="video file (default: videotestsrc)")
    p.add_argument("--detector", "-d", required=True, help="TorchScript detector")
    p.add_argument("--segmenter", "-s", help="TorchScript segmenter (default: none)")
    p.add_argument("--frames", "-n", type=int, default=10)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--derain-options", default="", help='more sapnetderain properties ("stages=2 rain-meta=true")')
    p.add_argument("--detector-options", default="", help="more sapnetdetect properties")
    p.add_argument("--segmenter-options", default="", help="more sapnetsegment properties")
    a = p.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(pipeline_description(a))
    for element, prop, value in (("src", "location", a.input), ("detect", "model-location", a.detector),
                                 ("segment", "model-location", a.segmenter)):
        if value:
            pipeline.get_by_name(element).set_property(prop, value)
    sink = pipeline.get_by_name("sink")
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    frame, status = 0, 0
    while True:
        sample = sink.emit("try-pull-sample", Gst.SECOND // 10)
        if sample:
            print(json.dumps(frame_json(frame, sample.get_buffer()), separators=(",", ":")), flush=True)
            frame += 1
            continue
        if sink.is_eos():
            break
        msg = bus.pop_filtered(Gst.MessageType.ERROR)  # an error ends the stream without EOS
        if msg:
            err, debug = msg.parse_error()
            print(f"detect_json.py: {err.message} ({debug or ''})", file=sys.stderr)
            status = 1
            break
    pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main())
