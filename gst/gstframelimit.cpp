/**
 * SECTION:element-framelimit
 * @title: framelimit
 *
 * Passes the first `frames` buffers, then sends EOS downstream at once and answers every later
 * buffer with EOS, so that exactly that many frames, with their timestamps untouched, reach the
 * sinks. Upstream's own EOS, when it comes, is dropped (downstream already has one); a flush
 * starts the count again.
 *
 * `identity eos-after=N` is not a substitute: it drops buffer N itself, sends no EOS of its own
 * and lets through whatever a decoder drains after it (a frame seconds later), so that encoders
 * and compositor behind it stretch the last frame over the gap.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.avi ! decodebin ! framelimit frames=40 ! videoconvert ! \
 *     x264enc ! mp4mux ! filesink location=first-40.mp4
 * ]|
 */
#include "gstframelimit.h"

GST_DEBUG_CATEGORY_STATIC(gst_frame_limit_debug);
#define GST_CAT_DEFAULT gst_frame_limit_debug

enum { PROP_0, PROP_FRAMES };

struct _GstFrameLimit {
  GstElement parent;
  GstPad *sinkpad, *srcpad;
  guint64 limit;   // 0: no limit (guarded by the object lock)
  guint64 count;   // buffers passed since the start or the last flush (streaming thread)
  gboolean ended;  // EOS sent downstream by this element (streaming thread)
};

G_DEFINE_TYPE(GstFrameLimit, gst_frame_limit, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(framelimit, "framelimit", GST_RANK_NONE, GST_TYPE_FRAME_LIMIT);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstFlowReturn gst_frame_limit_chain(GstPad *, GstObject *parent, GstBuffer *buf) {
  auto *self = GST_FRAME_LIMIT(parent);
  if (self->ended) {
    gst_buffer_unref(buf);
    return GST_FLOW_EOS;
  }
  GST_OBJECT_LOCK(self);
  const guint64 limit = self->limit;
  GST_OBJECT_UNLOCK(self);
  const GstFlowReturn ret = gst_pad_push(self->srcpad, buf);
  if (limit == 0 || ++self->count < limit) return ret;
  GST_DEBUG_OBJECT(self, "%" G_GUINT64_FORMAT " buffer(s) passed: end of stream", self->count);
  self->ended = TRUE;
  gst_pad_push_event(self->srcpad, gst_event_new_eos());
  return GST_FLOW_EOS;
}

static gboolean gst_frame_limit_sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_FRAME_LIMIT(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      if (self->ended) {  // downstream has had its EOS
        gst_event_unref(event);
        return TRUE;
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      self->count = 0;
      self->ended = FALSE;
      break;
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

static GstStateChangeReturn gst_frame_limit_change_state(GstElement *element,
                                                         GstStateChange transition) {
  auto *self = GST_FRAME_LIMIT(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    self->count = 0;
    self->ended = FALSE;
  }
  return GST_ELEMENT_CLASS(gst_frame_limit_parent_class)->change_state(element, transition);
}

static void gst_frame_limit_set_property(GObject *object, guint prop_id, const GValue *value,
                                         GParamSpec *pspec) {
  auto *self = GST_FRAME_LIMIT(object);
  if (prop_id != PROP_FRAMES) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  self->limit = g_value_get_uint64(value);
  GST_OBJECT_UNLOCK(self);
}

static void gst_frame_limit_get_property(GObject *object, guint prop_id, GValue *value,
                                         GParamSpec *pspec) {
  auto *self = GST_FRAME_LIMIT(object);
  if (prop_id != PROP_FRAMES) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  g_value_set_uint64(value, self->limit);
  GST_OBJECT_UNLOCK(self);
}

static void gst_frame_limit_class_init(GstFrameLimitClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_frame_limit_debug, "framelimit", 0, "frame limit");
  gobject_class->set_property = gst_frame_limit_set_property;
  gobject_class->get_property = gst_frame_limit_get_property;
  g_object_class_install_property(
      gobject_class, PROP_FRAMES,
      g_param_spec_uint64("frames", "Frames", "Buffers to pass before ending the stream (0: all)",
                          0, G_MAXUINT64, 0,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_frame_limit_change_state);
  gst_element_class_set_static_metadata(
      element_class, "Frame limit", "Generic",
      "Passes the first N buffers, then ends the stream (EOS) and drops the rest",
      "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
}

static void gst_frame_limit_init(GstFrameLimit *self) {
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_frame_limit_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_frame_limit_sink_event));
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
  GST_PAD_SET_PROXY_SCHEDULING(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->srcpad);
  GST_PAD_SET_PROXY_SCHEDULING(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
