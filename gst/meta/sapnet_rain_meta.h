// SapnetRainMeta: how rainy a frame was, as sapnetderain measured it, and what it did with it.
//
// sapnetderain attaches it to each buffer it measures (with `skip-dry` or `rain-meta` on): the
// frame's rain score (Engine::rain_score: the mean absolute rain layer its first stage finds on a
// copy shrunk to 128 pixels, in 8-bit levels; dry scenes score near 0), whether the frame was
// derained or passed through as dry, and the stages run. Any copy or transform of the buffer
// keeps it (the score describes the scene, not the pixels' layout).
//
// Reading it downstream (a pad probe, appsink, another element), with only this header:
// |[
//   #include "sapnet_rain_meta.h"
//   const SapnetRainMeta *m = gst_buffer_get_sapnet_rain_meta(buffer);
//   if (m && !m->derained) { /* a dry frame, passed through untouched */ }
// ]|
// The API type is registered by the sapnet plugin under the name "SapnetRainMetaAPI"; the lookup
// here finds it by name, so code outside the plugin need not link to it.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define SAPNET_RAIN_META_API_NAME "SapnetRainMetaAPI"

typedef struct {
  GstMeta meta;
  gdouble score;      // the frame's rain score, 8-bit levels (>= 0)
  gboolean derained;  // FALSE: passed through untouched (dry, skip-dry on)
  gint stages;        // recurrent stages run on the frame (0 when passed through)
} SapnetRainMeta;

// The meta's API type (0 before the sapnet plugin registered it).
static inline GType sapnet_rain_meta_api_lookup(void) {
  return g_type_from_name(SAPNET_RAIN_META_API_NAME);
}

static inline SapnetRainMeta *gst_buffer_get_sapnet_rain_meta(GstBuffer *buffer) {
  const GType api = sapnet_rain_meta_api_lookup();
  return api ? (SapnetRainMeta *)gst_buffer_get_meta(buffer, api) : NULL;
}

// Inside the plugin: registration and attaching.
GType sapnet_rain_meta_api_get_type(void);
const GstMetaInfo *sapnet_rain_meta_get_info(void);
SapnetRainMeta *gst_buffer_add_sapnet_rain_meta(GstBuffer *buffer, gdouble score, gboolean derained,
                                                gint stages);

G_END_DECLS
