// SapnetSegmentationMeta: the class map that sapnetsegment attaches to each buffer.
//
// One byte per pixel, the class id (the argmax of the segmenter's logits) at the frame's size,
// rows packed (`width` bytes per row, no padding). The meta owns the map; copying a buffer copies
// it; any other transform (scaling, cropping) drops it, since the map would no longer line up.
//
// Reading it downstream (a pad probe, appsink, another element), with only this header:
// |[
//   #include "sapnet_segmentation_meta.h"
//   const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(buffer);
//   if (m) {
//     guint8 id = m->class_map[y * m->width + x];  // 0 .. num_classes - 1
//   }
// ]|
// The API type is registered by the sapnet plugin under the name "SapnetSegmentationMetaAPI";
// the lookup here finds it by name, so code outside the plugin need not link to it (the plugin
// must have been loaded, which it is once a sapnetsegment element exists).
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define SAPNET_SEGMENTATION_META_API_NAME "SapnetSegmentationMetaAPI"

typedef struct {
  GstMeta meta;
  guint width;        // pixels, the frame's width
  guint height;       // pixels, the frame's height
  guint num_classes;  // channels of the segmenter's output; ids are below this
  guint8 *class_map;  // width * height class ids, owned by the meta
} SapnetSegmentationMeta;

// The meta's API type (0 before the sapnet plugin registered it).
static inline GType sapnet_segmentation_meta_api_lookup(void) {
  return g_type_from_name(SAPNET_SEGMENTATION_META_API_NAME);
}

static inline SapnetSegmentationMeta *gst_buffer_get_sapnet_segmentation_meta(GstBuffer *buffer) {
  const GType api = sapnet_segmentation_meta_api_lookup();
  return api ? (SapnetSegmentationMeta *)gst_buffer_get_meta(buffer, api) : NULL;
}

// Inside the plugin: registration and attaching.
GType sapnet_segmentation_meta_api_get_type(void);
const GstMetaInfo *sapnet_segmentation_meta_get_info(void);
// Adds a meta holding a copy of `class_map` (width * height bytes).
SapnetSegmentationMeta *gst_buffer_add_sapnet_segmentation_meta(GstBuffer *buffer, guint width,
                                                                guint height, guint num_classes,
                                                                const guint8 *class_map);

G_END_DECLS
