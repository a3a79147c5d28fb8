// GstSapnetPerceptionFilter: the abstract base of sapnetdetect and sapnetsegment. It owns the
// properties both share (model-location, device, input-width, input-height, mean, std, overlay),
// reads them in start(), checks formats in set_info() and runs every virtual method and hook under
// one guard that turns C++ exceptions into element errors. Subclasses fill in the class hooks.
#pragma once

#include <gst/video/gstvideofilter.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "frame.h"
#include "perception/perception_input.h"

G_BEGIN_DECLS

#define GST_TYPE_SAPNET_PERCEPTION_FILTER (gst_sapnet_perception_filter_get_type())
G_DECLARE_DERIVABLE_TYPE(GstSapnetPerceptionFilter, gst_sapnet_perception_filter, GST,
                         SAPNET_PERCEPTION_FILTER, GstVideoFilter)

// Every hook may throw: a sapnet::gst::ElementError is posted as it is; any other exception
// becomes "Could not load the <task> model ..." in open and "<Task> failed: ..." elsewhere.
struct _GstSapnetPerceptionFilterClass {
  GstVideoFilterClass parent_class;

  const char *task;  // "detection", "segmentation": names the work in error messages

  // start(): reads the subclass's own settings and loads its model from `input` (the shared
  // properties, parsed).
  void (*open)(GstSapnetPerceptionFilter *self, const sapnet::PerceptionInput &input);
  // stop(), only after a successful open: drops the model. Errors are posted; the stop succeeds.
  void (*close)(GstSapnetPerceptionFilter *self);
  // At EOS, before the event travels on (may be NULL).
  void (*end_of_stream)(GstSapnetPerceptionFilter *self);
  // One frame, in place; `overlay` is the overlay property for this frame. `frame_number` counts
  // the frames that reached the element since start, the ones QoS dropped before `process`
  // included: frame N keeps number N (its image id, its file name) whatever was dropped before.
  void (*process)(GstSapnetPerceptionFilter *self, GstVideoFrame *frame,
                  const sapnet::FrameView &view, bool overlay, guint64 frame_number);
  // The subclass's own properties (GObject set/get_property for properties it installed).
  void (*set_setting)(GstSapnetPerceptionFilter *self, guint prop_id, const GValue *value,
                      GParamSpec *pspec);
  void (*get_setting)(GstSapnetPerceptionFilter *self, guint prop_id, GValue *value,
                      GParamSpec *pspec);
};

// For a subclass's class_init, before it installs its properties: GObject does not inherit
// set/get_property, so this routes the subclass's properties through the base's guard to its
// set_setting/get_setting hooks.
void gst_sapnet_perception_filter_class_route_properties(GstSapnetPerceptionFilterClass *klass);

G_END_DECLS

namespace sapnet::gst {

// An error with a message of its own for the application, in GStreamer's domain and code
// (e.g. GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE); `debug` is the detail for developers.
class ElementError : public std::runtime_error {
 public:
  ElementError(GQuark domain, int code, const std::string &message, std::string debug = "")
      : std::runtime_error(message), domain_(domain), code_(code), debug_(std::move(debug)) {}
  GQuark domain() const { return domain_; }
  int code() const { return code_; }
  const std::string &debug() const { return debug_; }

 private:
  GQuark domain_;
  int code_;
  std::string debug_;
};

}  // namespace sapnet::gst
