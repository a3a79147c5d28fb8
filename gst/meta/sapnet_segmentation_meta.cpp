// SapnetSegmentationMeta: registration, attaching and the accessors (sapnet_segmentation_meta.h).
#include "sapnet_segmentation_meta.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cstring>

static gboolean segmentation_meta_init(GstMeta *meta, gpointer, GstBuffer *) {
  auto *m = reinterpret_cast<SapnetSegmentationMeta *>(meta);
  m->width = m->height = m->num_classes = 0;
  m->class_map = nullptr;
  return TRUE;
}

static void segmentation_meta_free(GstMeta *meta, GstBuffer *) {
  auto *m = reinterpret_cast<SapnetSegmentationMeta *>(meta);
  g_free(m->class_map);
  m->class_map = nullptr;
}

// A new meta on `buffer` with a map of width x height ids still to be filled.
static SapnetSegmentationMeta *attach(GstBuffer *buffer, guint width, guint height,
                                      guint num_classes) {
  auto *m = reinterpret_cast<SapnetSegmentationMeta *>(
      gst_buffer_add_meta(buffer, sapnet_segmentation_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->width = width;
  m->height = height;
  m->num_classes = num_classes;
  m->class_map = static_cast<guint8 *>(g_malloc(gsize(width) * height));
  return m;
}

// The map resampled (nearest: class ids are labels, not levels) as the frame is scaled from
// `in` to `out`.
static gboolean add_scaled(GstBuffer *dest, const SapnetSegmentationMeta *m, const GstVideoInfo *in,
                           const GstVideoInfo *out) {
  if (GST_VIDEO_INFO_WIDTH(in) <= 0 || GST_VIDEO_INFO_HEIGHT(in) <= 0 || !m->class_map ||
      m->width == 0 || m->height == 0)
    return FALSE;
  const guint w = std::max<guint>(
      1, guint(double(m->width) * GST_VIDEO_INFO_WIDTH(out) / GST_VIDEO_INFO_WIDTH(in) + 0.5));
  const guint h = std::max<guint>(
      1, guint(double(m->height) * GST_VIDEO_INFO_HEIGHT(out) / GST_VIDEO_INFO_HEIGHT(in) + 0.5));
  SapnetSegmentationMeta *scaled = attach(dest, w, h, m->num_classes);
  if (!scaled) return FALSE;
  for (guint y = 0; y < h; ++y) {
    const guint sy = std::min<guint>(m->height - 1, guint((y + 0.5) * m->height / h));
    for (guint x = 0; x < w; ++x) {
      const guint sx = std::min<guint>(m->width - 1, guint((x + 0.5) * m->width / w));
      scaled->class_map[size_t(y) * w + x] = m->class_map[size_t(sy) * m->width + sx];
    }
  }
  return TRUE;
}

// Copies come along with buffer copies and scaling resamples the map (the meta's "size" tag
// makes videoscale and videoconvert ask); other transforms (a crop) drop it, since the map would
// no longer line up.
static gboolean segmentation_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *,
                                            GQuark type, gpointer data) {
  const auto *m = reinterpret_cast<SapnetSegmentationMeta *>(meta);
  if (GST_META_TRANSFORM_IS_COPY(type))
    return gst_buffer_add_sapnet_segmentation_meta(dest, m->width, m->height, m->num_classes,
                                                   m->class_map) != nullptr;
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    const auto *scale = static_cast<const GstVideoMetaTransform *>(data);
    return add_scaled(dest, m, scale->in_info, scale->out_info);
  }
  return FALSE;
}

GType sapnet_segmentation_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, nullptr};
  if (g_once_init_enter(&type)) {
    // An older copy of these metas (a plugin built before the library) may have registered the
    // name already: share its type rather than fail to register a second one.
    GType t = g_type_from_name(SAPNET_SEGMENTATION_META_API_NAME);
    if (!t) t = gst_meta_api_type_register(SAPNET_SEGMENTATION_META_API_NAME, tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo *sapnet_segmentation_meta_get_info(void) {
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo *i =
        gst_meta_register(sapnet_segmentation_meta_api_get_type(), "SapnetSegmentationMeta",
                          sizeof(SapnetSegmentationMeta), segmentation_meta_init,
                          segmentation_meta_free, segmentation_meta_transform);
    // An older copy's registration holds the name (see the API type above): share it. Without
    // this, a NULL here left every later call waiting on the first one forever.
    if (!i) i = gst_meta_get_info("SapnetSegmentationMeta");
    g_once_init_leave(&info, i);
  }
  return info;
}

SapnetSegmentationMeta *gst_buffer_add_sapnet_segmentation_meta(GstBuffer *buffer, guint width,
                                                                guint height, guint num_classes,
                                                                const guint8 *class_map) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && class_map && width && height, nullptr);
  SapnetSegmentationMeta *m = attach(buffer, width, height, num_classes);
  if (m) std::memcpy(m->class_map, class_map, gsize(width) * height);
  return m;
}

SapnetSegmentationMeta *gst_buffer_get_sapnet_segmentation_meta(GstBuffer *buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<SapnetSegmentationMeta *>(
      gst_buffer_get_meta(buffer, sapnet_segmentation_meta_api_get_type()));
}

guint sapnet_segmentation_meta_get_width(const SapnetSegmentationMeta *meta) {
  return meta ? meta->width : 0;
}

guint sapnet_segmentation_meta_get_height(const SapnetSegmentationMeta *meta) {
  return meta ? meta->height : 0;
}

guint sapnet_segmentation_meta_get_num_classes(const SapnetSegmentationMeta *meta) {
  return meta ? meta->num_classes : 0;
}

const guint8 *sapnet_segmentation_meta_get_class_map(const SapnetSegmentationMeta *meta) {
  return meta ? meta->class_map : nullptr;
}
