#include "perception/detector.h"

#include <algorithm>

#include "error.h"
#include "perception/torchscript_runner.h"

namespace sapnet {
namespace {

using perception::describe;
using perception::InputGeometry;
using perception::shape_of;

// Three tensors (boxes, labels, scores) from the torchvision-style output forms.
struct TorchvisionTensors {
  torch::Tensor boxes, labels, scores;
};

constexpr const char *kTorchvisionExpected =
    "expected torchvision-style output (boxes N x 4, labels N, scores N) as a tuple, a dict "
    "{boxes, labels, scores}, a list of one such dict or (losses, [dict])";

TorchvisionTensors torchvision_tensors(const c10::IValue &out) {
  const auto fail = [&](const std::string &detail) -> TorchvisionTensors {
    throw Error(std::string(kTorchvisionExpected) + ", got " + detail);
  };
  c10::IValue v = out;
  // (losses, detections) of scripted torchvision models: take the detections.
  if (v.isTuple() && v.toTupleRef().elements().size() == 2 && v.toTupleRef().elements()[1].isList())
    v = v.toTupleRef().elements()[1];
  if (v.isList() && v.toListRef().size() == 1 && v.toListRef()[0].isGenericDict())
    v = v.toListRef()[0];
  TorchvisionTensors t;
  if (v.isGenericDict()) {
    const auto dict = v.toGenericDict();
    const auto get = [&](const char *key) {
      const auto it = dict.find(c10::IValue(std::string(key)));
      if (it == dict.end() || !it->value().isTensor()) fail(describe(out));
      return it->value().toTensor();
    };
    t.boxes = get("boxes"), t.labels = get("labels"), t.scores = get("scores");
  } else if (v.isTuple() || v.isList()) {
    const std::vector<c10::IValue> items =
        v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
    if (items.size() != 3 || !items[0].isTensor() || !items[1].isTensor() || !items[2].isTensor())
      fail(describe(out));
    t.boxes = items[0].toTensor(), t.labels = items[1].toTensor(), t.scores = items[2].toTensor();
  } else {
    fail(describe(out));
  }
  const int64_t n = t.boxes.dim() == 2 ? t.boxes.size(0) : -1;
  if (n < 0 || t.boxes.size(1) != 4 || t.labels.dim() != 1 || t.labels.size(0) != n ||
      t.scores.dim() != 1 || t.scores.size(0) != n)
    fail("boxes " + shape_of(t.boxes) + ", labels " + shape_of(t.labels) + ", scores " +
         shape_of(t.scores));
  return t;
}

// Detections in network-input pixels, above the score threshold.
std::vector<Detection> decode_torchvision(const c10::IValue &out, float threshold) {
  const TorchvisionTensors t = torchvision_tensors(out);
  const auto boxes = t.boxes.to(torch::kCPU, torch::kFloat).contiguous();
  const auto labels = t.labels.to(torch::kCPU, torch::kLong).contiguous();
  const auto scores = t.scores.to(torch::kCPU, torch::kFloat).contiguous();
  const float *b = boxes.data_ptr<float>();
  const int64_t *l = labels.data_ptr<int64_t>();
  const float *s = scores.data_ptr<float>();
  std::vector<Detection> dets;
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    if (!(s[i] >= threshold)) continue;
    Detection d;
    d.x = b[4 * i], d.y = b[4 * i + 1];
    d.w = b[4 * i + 2] - d.x, d.h = b[4 * i + 3] - d.y;
    d.class_id = static_cast<int>(l[i]);
    d.score = s[i];
    dets.push_back(d);
  }
  return dets;
}

std::vector<Detection> decode_yolo(const c10::IValue &out, float threshold, bool multi_label) {
  c10::IValue v = out;
  if ((v.isTuple() && !v.toTupleRef().elements().empty() &&
       v.toTupleRef().elements()[0].isTensor()))
    v = v.toTupleRef().elements()[0];
  constexpr const char *expected =
      "expected YOLO-style output, a tensor 1 x N x (5 + classes) or N x (5 + classes) with at "
      "least one class";
  if (!v.isTensor()) throw Error(std::string(expected) + ", got " + describe(out));
  torch::Tensor t = v.toTensor();
  if (t.dim() == 3 && t.size(0) == 1) t = t[0];
  if (t.dim() != 2 || t.size(1) < 6 || !t.is_floating_point())
    throw Error(std::string(expected) + ", got a tensor " + shape_of(v.toTensor()));
  t = t.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t rows = t.size(0), cols = t.size(1);
  const float *p = t.data_ptr<float>();
  std::vector<Detection> dets;
  const auto add = [&](const float *r, int64_t cls, float score) {
    Detection d;
    d.w = r[2], d.h = r[3];
    d.x = r[0] - d.w / 2, d.y = r[1] - d.h / 2;
    d.class_id = static_cast<int>(cls);
    d.score = score;
    dets.push_back(d);
  };
  for (int64_t i = 0; i < rows; ++i) {
    const float *r = p + i * cols;
    // Class scores are at most 1: a box whose objectness is under the threshold has no class
    // above it (and a NaN objectness none at all).
    if (!(r[4] >= threshold)) continue;
    if (multi_label) {
      for (int64_t c = 5; c < cols; ++c)
        if (r[4] * r[c] >= threshold) add(r, c - 5, r[4] * r[c]);
      continue;
    }
    const int64_t best = std::max_element(r + 5, r + cols) - (r + 5);
    const float score = r[4] * r[5 + best];
    if (score >= threshold) add(r, best, score);
  }
  return dets;
}

// From network-input pixels to frame pixels (undoing the stretch or letterbox), clipped to the
// frame; empty boxes dropped.
std::vector<Detection> to_frame(std::vector<Detection> dets, const InputGeometry &g, int frame_w,
                                int frame_h) {
  std::vector<Detection> out;
  const auto fx = [&](float x) {
    return std::clamp(float((x - g.pad_x) / g.scale_x), 0.f, float(frame_w));
  };
  const auto fy = [&](float y) {
    return std::clamp(float((y - g.pad_y) / g.scale_y), 0.f, float(frame_h));
  };
  for (Detection d : dets) {
    const float x0 = fx(d.x), y0 = fy(d.y), x1 = fx(d.x + d.w), y1 = fy(d.y + d.h);
    if (!(x1 > x0 && y1 > y0)) continue;
    d.x = x0, d.y = y0, d.w = x1 - x0, d.h = y1 - y0;
    out.push_back(d);
  }
  return out;
}

}  // namespace

struct Detector::Impl {
  DetectorOptions options;
  perception::TorchScriptRunner runner;
  Impl(const DetectorOptions &o) : options(o), runner(o, "detector") {}
};

Detector::Detector(const DetectorOptions &options) {
  if (!(options.score_threshold >= 0 && options.score_threshold <= 1))
    throw Error("score threshold must be in [0, 1], got " +
                std::to_string(options.score_threshold));
  if (!(options.nms_threshold >= 0 && options.nms_threshold <= 1))
    throw Error("NMS IoU threshold must be in [0, 1], got " +
                std::to_string(options.nms_threshold));
  if (options.max_detections < 0)
    throw Error("maximum detections must be 0 (all) or more, got " +
                std::to_string(options.max_detections));
  impl_ = std::make_unique<Impl>(options);
}

Detector::~Detector() = default;

std::vector<Detection> Detector::detect(const FrameView &frame) {
  c10::InferenceMode guard;
  InputGeometry g;
  const c10::IValue out = impl_->runner.run(impl_->runner.input(frame, &g));
  const DetectorOptions &o = impl_->options;
  std::vector<Detection> dets = o.output == DetectorOutput::kYolo
                                    ? decode_yolo(out, o.score_threshold, o.multi_label)
                                    : decode_torchvision(out, o.score_threshold);
  dets = non_maximum_suppression(std::move(dets), o.nms_threshold);
  dets = to_frame(std::move(dets), g, frame.width, frame.height);
  if (o.max_detections > 0 && dets.size() > size_t(o.max_detections)) dets.resize(o.max_detections);
  return dets;
}

const DetectorOptions &Detector::options() const {
  return impl_->options;
}
std::string Detector::device() const {
  return impl_->runner.device();
}

}  // namespace sapnet
