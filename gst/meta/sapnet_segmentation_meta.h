/* SapnetSegmentationMeta: the class map that sapnetsegment attaches to each buffer.
 *
 * One byte per pixel, the class id (the argmax of the segmenter's logits) at the frame's size,
 * rows packed (`width` bytes per row, no padding). The meta owns the map; copying a buffer copies
 * it; scaling the frame (videoscale, videoconvertscale) resamples it to the new size (nearest);
 * any other transform (cropping) drops it, since the map would no longer line up. Its tags are
 * "video" and "size".
 *
 * Reading it downstream (a pad probe, appsink, another element); link libgstsapnetmeta-1.0
 * (pkg-config gstreamer-sapnet-meta-1.0), the library the sapnet plugin registers it with:
 * |[
 *   #include <gst/sapnet/sapnetmeta.h>
 *   const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(buffer);
 *   if (m) {
 *     guint8 id = m->class_map[y * m->width + x];  // 0 .. num_classes - 1
 *   }
 * ]|
 * The functions have C linkage and take plain pointers, so that other languages reach them too
 * (Python: ctypes with the buffer's address, see pipelines/examples/sapnet_meta.py). */
#pragma once

#include <gst/gst.h>

#include "sapnet_meta_export.h"

G_BEGIN_DECLS

#define SAPNET_SEGMENTATION_META_API_NAME "SapnetSegmentationMetaAPI"

typedef struct {
  GstMeta meta;
  guint width;       /* pixels, the frame's width */
  guint height;      /* pixels, the frame's height */
  guint num_classes; /* channels of the segmenter's output; ids are below this */
  guint8 *class_map; /* width * height class ids, owned by the meta */
} SapnetSegmentationMeta;

/* The meta's API type, registered on first use under SAPNET_SEGMENTATION_META_API_NAME. */
SAPNET_META_API GType sapnet_segmentation_meta_api_get_type(void);
SAPNET_META_API const GstMetaInfo *sapnet_segmentation_meta_get_info(void);

/* The buffer's segmentation meta, or NULL when it has none. */
SAPNET_META_API SapnetSegmentationMeta *gst_buffer_get_sapnet_segmentation_meta(GstBuffer *buffer);

/* Adds a meta holding a copy of `class_map` (width * height bytes). */
SAPNET_META_API SapnetSegmentationMeta *gst_buffer_add_sapnet_segmentation_meta(
    GstBuffer *buffer, guint width, guint height, guint num_classes, const guint8 *class_map);

/* The fields as functions, for bindings that do not lay out C structs (0 or NULL for NULL). */
SAPNET_META_API guint sapnet_segmentation_meta_get_width(const SapnetSegmentationMeta *meta);
SAPNET_META_API guint sapnet_segmentation_meta_get_height(const SapnetSegmentationMeta *meta);
SAPNET_META_API guint sapnet_segmentation_meta_get_num_classes(const SapnetSegmentationMeta *meta);
SAPNET_META_API const guint8 *sapnet_segmentation_meta_get_class_map(
    const SapnetSegmentationMeta *meta);

G_END_DECLS
