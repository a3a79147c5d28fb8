// SapnetSegmentationMeta: registration, attaching and the accessors (sapnet_segmentation_meta.h).
#include "sapnet_segmentation_meta.h"

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

// Copies come along with buffer copies; other transforms (scale, crop) drop the meta.
static gboolean segmentation_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *,
                                            GQuark type, gpointer) {
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  const auto *m = reinterpret_cast<SapnetSegmentationMeta *>(meta);
  return gst_buffer_add_sapnet_segmentation_meta(dest, m->width, m->height, m->num_classes,
                                                 m->class_map) != nullptr;
}

GType sapnet_segmentation_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {nullptr};
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
    g_once_init_leave(&info, i);
  }
  return info;
}

SapnetSegmentationMeta *gst_buffer_add_sapnet_segmentation_meta(GstBuffer *buffer, guint width,
                                                                guint height, guint num_classes,
                                                                const guint8 *class_map) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && class_map && width && height, nullptr);
  auto *m = reinterpret_cast<SapnetSegmentationMeta *>(
      gst_buffer_add_meta(buffer, sapnet_segmentation_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->width = width;
  m->height = height;
  m->num_classes = num_classes;
  m->class_map = static_cast<guint8 *>(g_memdup2(class_map, gsize(width) * height));
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
