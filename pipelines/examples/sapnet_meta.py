"""Reading the sapnet elements' results from Python (PyGObject): detections, class map, rain score.

Detections are GStreamer's own GstVideoRegionOfInterestMeta, read through GstVideo's
introspection (sapnetdetect numbers a buffer's boxes 0..n-1 as their ids). The class map
(SapnetSegmentationMeta) and the rain score (SapnetRainMeta) are C structs that introspection
cannot see: they are read with ctypes through the plain C accessors of libgstsapnetmeta-1.0 (the
library the plugin registers the metas with).
ctypes needs the GstBuffer's address: PyGObject's hash() of a Gst.Buffer is that address, the way
NVIDIA DeepStream's Python bindings hand buffers to C.
"""
import ctypes

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, GstVideo  # noqa: E402

_lib = ctypes.CDLL("libgstsapnetmeta-1.0.so.0")
_lib.gst_buffer_get_sapnet_segmentation_meta.restype = ctypes.c_void_p
_lib.gst_buffer_get_sapnet_segmentation_meta.argtypes = [ctypes.c_void_p]
for _name in ("width", "height", "num_classes"):
    _f = getattr(_lib, "sapnet_segmentation_meta_get_" + _name)
    _f.restype, _f.argtypes = ctypes.c_uint, [ctypes.c_void_p]
_lib.sapnet_segmentation_meta_get_class_map.restype = ctypes.c_void_p
_lib.sapnet_segmentation_meta_get_class_map.argtypes = [ctypes.c_void_p]
_lib.gst_buffer_get_sapnet_rain_meta.restype = ctypes.c_void_p
_lib.gst_buffer_get_sapnet_rain_meta.argtypes = [ctypes.c_void_p]
for _name, _type in (("score", ctypes.c_double), ("derained", ctypes.c_int), ("stages", ctypes.c_int)):
    _f = getattr(_lib, "sapnet_rain_meta_get_" + _name)
    _f.restype, _f.argtypes = _type, [ctypes.c_void_p]


class Segmentation:
    """A copy of a buffer's class map: width x height class ids, one byte each, rows packed."""

    def __init__(self, width, height, num_classes, class_map):
        self.width, self.height, self.num_classes = width, height, num_classes
        self.class_map = class_map  # bytes

    def class_at(self, x, y):
        return self.class_map[y * self.width + x]


def segmentation(buffer):
    """The buffer's class map as a Segmentation, or None. Copied: it outlives the buffer."""
    meta = _lib.gst_buffer_get_sapnet_segmentation_meta(hash(buffer))
    if not meta:
        return None
    width = _lib.sapnet_segmentation_meta_get_width(meta)
    height = _lib.sapnet_segmentation_meta_get_height(meta)
    class_map = ctypes.string_at(_lib.sapnet_segmentation_meta_get_class_map(meta), width * height)
    return Segmentation(width, height, _lib.sapnet_segmentation_meta_get_num_classes(meta), class_map)


def rain(buffer):
    """The buffer's rain meta as a dict (score, derained, stages), or None."""
    meta = _lib.gst_buffer_get_sapnet_rain_meta(hash(buffer))
    if not meta:
        return None
    return {"score": _lib.sapnet_rain_meta_get_score(meta),
            "derained": bool(_lib.sapnet_rain_meta_get_derained(meta)),
            "stages": _lib.sapnet_rain_meta_get_stages(meta)}


def regions(buffer):
    """The buffer's detections: dicts with label, class, confidence and box [x, y, w, h]."""
    api = GstVideo.video_region_of_interest_meta_api_get_type()
    out = []
    for i in range(buffer.get_n_meta(api)):
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, i)
        det = roi.get_param("detection")
        out.append({
            "label": GLib.quark_to_string(roi.roi_type),
            "class": det.get_value("class-id") if det else -1,
            "confidence": det.get_value("confidence") if det else 0.0,
            "box": [roi.x, roi.y, roi.w, roi.h],
        })
    return out
