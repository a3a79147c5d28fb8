// SapnetRainMeta: registration, attaching and the accessors (sapnet_rain_meta.h).
#include "sapnet_rain_meta.h"

static gboolean rain_meta_init(GstMeta *meta, gpointer, GstBuffer *) {
  auto *m = reinterpret_cast<SapnetRainMeta *>(meta);
  m->score = 0;
  m->derained = FALSE;
  m->stages = 0;
  return TRUE;
}

// Copies, scaling and cropping keep the meta: the score describes the scene.
static gboolean rain_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *, GQuark, gpointer) {
  const auto *m = reinterpret_cast<SapnetRainMeta *>(meta);
  return gst_buffer_add_sapnet_rain_meta(dest, m->score, m->derained, m->stages) != nullptr;
}

GType sapnet_rain_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {nullptr};
  if (g_once_init_enter(&type)) {
    // An older copy of these metas (a plugin built before the library) may have registered the
    // name already: share its type rather than fail to register a second one.
    GType t = g_type_from_name(SAPNET_RAIN_META_API_NAME);
    if (!t) t = gst_meta_api_type_register(SAPNET_RAIN_META_API_NAME, tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo *sapnet_rain_meta_get_info(void) {
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo *i =
        gst_meta_register(sapnet_rain_meta_api_get_type(), "SapnetRainMeta", sizeof(SapnetRainMeta),
                          rain_meta_init, nullptr, rain_meta_transform);
    // An older copy's registration holds the name (see the API type above): share it. Without
    // this, a NULL here left every later call waiting on the first one forever.
    if (!i) i = gst_meta_get_info("SapnetRainMeta");
    g_once_init_leave(&info, i);
  }
  return info;
}

SapnetRainMeta *gst_buffer_add_sapnet_rain_meta(GstBuffer *buffer, gdouble score, gboolean derained,
                                                gint stages) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  auto *m = reinterpret_cast<SapnetRainMeta *>(
      gst_buffer_add_meta(buffer, sapnet_rain_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->score = score;
  m->derained = derained;
  m->stages = stages;
  return m;
}

SapnetRainMeta *gst_buffer_get_sapnet_rain_meta(GstBuffer *buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<SapnetRainMeta *>(
      gst_buffer_get_meta(buffer, sapnet_rain_meta_api_get_type()));
}

gdouble sapnet_rain_meta_get_score(const SapnetRainMeta *meta) {
  return meta ? meta->score : 0;
}

gboolean sapnet_rain_meta_get_derained(const SapnetRainMeta *meta) {
  return meta ? meta->derained : FALSE;
}

gint sapnet_rain_meta_get_stages(const SapnetRainMeta *meta) {
  return meta ? meta->stages : 0;
}
