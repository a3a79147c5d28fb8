/* SapnetRainMeta: how rainy a frame was, as sapnetderain measured it, and what it did with it.
 *
 * sapnetderain attaches it to each buffer it measures (with `skip-dry` or `rain-meta` on): the
 * frame's rain score (Engine::rain_score: the mean absolute rain layer its first stage finds on a
 * copy shrunk to 128 pixels, in 8-bit levels; dry scenes score low, rain higher: see the
 * README), whether the frame was derained or passed through as dry, and the stages run. Any copy
 * or transform of the buffer keeps it (the score describes the scene, not the pixels' layout).
 *
 * Reading it downstream (a pad probe, appsink, another element); link libgstsapnetmeta-1.0
 * (pkg-config gstreamer-sapnet-meta-1.0), the library the sapnet plugin registers it with:
 * |[
 *   #include <gst/sapnet/sapnetmeta.h>
 *   const SapnetRainMeta *m = gst_buffer_get_sapnet_rain_meta(buffer);
 *   if (m && !m->derained) { ... a dry frame, passed through untouched ... }
 * ]|
 * The functions have C linkage and take plain pointers, so that other languages reach them too
 * (Python: ctypes with the buffer's address, see pipelines/examples/sapnet_meta.py). */
#pragma once

#include <gst/gst.h>

#include "sapnet_meta_export.h"

G_BEGIN_DECLS

#define SAPNET_RAIN_META_API_NAME "SapnetRainMetaAPI"

typedef struct {
  GstMeta meta;
  gdouble score;     /* the frame's rain score, 8-bit levels (>= 0) */
  gboolean derained; /* FALSE: passed through untouched (dry, skip-dry on) */
  gint stages;       /* recurrent stages run on the frame (0 when passed through) */
} SapnetRainMeta;

/* The meta's API type, registered on first use under SAPNET_RAIN_META_API_NAME. */
SAPNET_META_API GType sapnet_rain_meta_api_get_type(void);
SAPNET_META_API const GstMetaInfo *sapnet_rain_meta_get_info(void);

/* The buffer's rain meta, or NULL when it has none. */
SAPNET_META_API SapnetRainMeta *gst_buffer_get_sapnet_rain_meta(GstBuffer *buffer);

SAPNET_META_API SapnetRainMeta *gst_buffer_add_sapnet_rain_meta(GstBuffer *buffer, gdouble score,
                                                                gboolean derained, gint stages);

/* The fields as functions, for bindings that do not lay out C structs (0 for NULL). */
SAPNET_META_API gdouble sapnet_rain_meta_get_score(const SapnetRainMeta *meta);
SAPNET_META_API gboolean sapnet_rain_meta_get_derained(const SapnetRainMeta *meta);
SAPNET_META_API gint sapnet_rain_meta_get_stages(const SapnetRainMeta *meta);

G_END_DECLS
