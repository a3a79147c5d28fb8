#include "perception.h"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "engine.h"
#include "error.h"

namespace sapnet {
namespace {

std::string shape_of(const torch::Tensor &t) {
  std::ostringstream s;
  s << "[";
  for (int64_t d = 0; d < t.dim(); ++d) s << (d ? " x " : "") << t.size(d);
  s << "] " << t.scalar_type();
  return s.str();
}

// What an IValue is, for error messages: a tensor's shape, a container's element kinds.
std::string describe(const c10::IValue &v) {
  if (v.isTensor()) return "a tensor " + shape_of(v.toTensor());
  if (v.isTuple() || v.isList()) {
    const std::vector<c10::IValue> items =
        v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
    std::string s = std::string(v.isTuple() ? "a tuple" : "a list") + " of " +
                    std::to_string(items.size()) + " (";
    for (size_t i = 0; i < items.size() && i < 4; ++i) s += (i ? ", " : "") + describe(items[i]);
    return s + (items.size() > 4 ? ", ...)" : ")");
  }
  if (v.isGenericDict()) {
    std::string s = "a dict {";
    bool first = true;
    for (const auto &kv : v.toGenericDict()) {
      s += (first ? "" : ", ") +
           (kv.key().isString() ? kv.key().toStringRef() : kv.key().tagKind()) + ": " +
           describe(kv.value());
      first = false;
    }
    return s + "}";
  }
  return "a " + v.tagKind();
}

torch::Device parse_device(const std::string &name) {
  if (name.empty() || name == "auto")
    return cuda_available() ? torch::Device("cuda:0") : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda_available()) throw Error("device '" + name + "': no CUDA in this build or machine");
    return torch::Device(name == "cuda" ? "cuda:0" : name);
  }
  throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
}

void check_input_options(const PerceptionInput &o) {
  if (o.input_width < 0 || o.input_height < 0)
    throw Error("input size " + std::to_string(o.input_width) + "x" +
                std::to_string(o.input_height) + ": must be positive (or 0 for the frame size)");
  if (!(o.pad_value >= 0 && o.pad_value <= 1))
    throw Error("letterbox pad value must be in [0, 1], got " + std::to_string(o.pad_value));
  for (float s : o.std)
    if (!(s > 0)) throw Error("normalisation std must be positive, got " + std::to_string(s));
}

// Where the frame lies in the network input: input pixel = frame pixel x scale + pad, over
// content_w x content_h pixels of the in_w x in_h input.
struct InputGeometry {
  int in_w = 0, in_h = 0;
  int content_w = 0, content_h = 0;
  int pad_x = 0, pad_y = 0;
  double scale_x = 1, scale_y = 1;
};

InputGeometry input_geometry(const PerceptionInput &o, int frame_w, int frame_h) {
  InputGeometry g;
  g.in_w = o.input_width ? o.input_width : frame_w;
  g.in_h = o.input_height ? o.input_height : frame_h;
  if (o.resize == ResizeMode::kLetterbox && (g.in_w != frame_w || g.in_h != frame_h)) {
    const double r = std::min(double(g.in_w) / frame_w, double(g.in_h) / frame_h);
    g.content_w = std::clamp(static_cast<int>(std::lround(frame_w * r)), 1, g.in_w);
    g.content_h = std::clamp(static_cast<int>(std::lround(frame_h * r)), 1, g.in_h);
    g.pad_x = (g.in_w - g.content_w) / 2;
    g.pad_y = (g.in_h - g.content_h) / 2;
    g.scale_x = g.scale_y = r;
  } else {
    g.content_w = g.in_w, g.content_h = g.in_h;
    g.scale_x = double(g.in_w) / frame_w, g.scale_y = double(g.in_h) / frame_h;
  }
  return g;
}

// The module, its device, and how frames become its input.
class TorchScriptRunner {
 public:
  TorchScriptRunner(const PerceptionInput &options, const char *what) : options_(options) {
    check_input_options(options);
    device_ = parse_device(options.device);
    const std::string &path = options.model_path;
    if (path.empty()) throw Error(std::string("no ") + what + " model given (model-location)");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(path + ": no such file (" + what + " TorchScript model)");
    try {
      module_ = torch::jit::load(path, device_);
    } catch (const c10::Error &e) {
      throw Error(path + ": not a loadable TorchScript module (" + e.what_without_backtrace() +
                  "); export it with torch.jit.script or torch.jit.trace and .save()");
    }
    module_.eval();
    const auto forward = module_.find_method("forward");
    if (!forward) throw Error(path + ": the TorchScript module has no forward method");
    const auto &args = forward->function().getSchema().arguments();
    if (args.size() < 2) throw Error(path + ": forward takes no input");
    list_input_ = args[1].type()->kind() == c10::TypeKind::ListType;
  }

  // The frame as network input: RGB [0, 1], stretched or letterboxed, normalised; on the device.
  // Sets where the frame lies in it.
  c10::IValue input(const FrameView &frame, InputGeometry *g) {
    check_frame(frame, "perception input");
    planar_.resize(size_t(3) * frame.width * frame.height);
    frame_to_planar_rgb(frame, planar_.data());
    torch::Tensor x =
        torch::from_blob(planar_.data(), {1, 3, frame.height, frame.width}, torch::kFloat);
    *g = input_geometry(options_, frame.width, frame.height);
    x = x.to(device_);
    if (g->content_w != frame.width || g->content_h != frame.height)
      x = torch::upsample_bilinear2d(x, {g->content_h, g->content_w}, false);
    if (g->content_w != g->in_w || g->content_h != g->in_h) {
      torch::Tensor canvas = torch::full({1, 3, g->in_h, g->in_w}, options_.pad_value, x.options());
      canvas.narrow(2, g->pad_y, g->content_h).narrow(3, g->pad_x, g->content_w).copy_(x);
      x = canvas;
    }
    const auto &m = options_.mean, &s = options_.std;
    if (m != std::array<float, 3>{0, 0, 0} || s != std::array<float, 3>{1, 1, 1}) {
      const auto mean = torch::tensor({m[0], m[1], m[2]}).view({1, 3, 1, 1}).to(device_);
      const auto stdev = torch::tensor({s[0], s[1], s[2]}).view({1, 3, 1, 1}).to(device_);
      x = (x - mean) / stdev;
    } else if (x.data_ptr() == planar_.data()) {
      x = x.clone();  // planar_ is reused by the next frame
    }
    if (list_input_) return c10::List<torch::Tensor>({x[0]});
    return x;
  }

  c10::IValue run(c10::IValue in) { return module_.forward({std::move(in)}); }

  const PerceptionInput &options() const { return options_; }
  std::string device() const { return device_.str(); }

 private:
  PerceptionInput options_;
  torch::Device device_{torch::kCPU};
  torch::jit::Module module_;
  bool list_input_ = false;
  std::vector<float> planar_;
};

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

float box_iou(const Detection &a, const Detection &b) {
  const float iw = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const float ih = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<Detection> non_maximum_suppression(std::vector<Detection> boxes, float iou_threshold) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const Detection &a, const Detection &b) { return a.score > b.score; });
  // Boxes only suppress boxes of their own class: each class is suppressed on its own (in the
  // order above), which keeps thousands of low-scoring candidates of 80 classes fast.
  std::map<int, std::vector<size_t>> by_class;
  for (size_t i = 0; i < boxes.size(); ++i) by_class[boxes[i].class_id].push_back(i);
  std::vector<char> keep(boxes.size(), 0);
  std::vector<size_t> kept;
  for (const auto &entry : by_class) {
    kept.clear();
    for (size_t i : entry.second) {
      bool suppressed = false;
      for (size_t k : kept)
        if (box_iou(boxes[k], boxes[i]) > iou_threshold) {
          suppressed = true;
          break;
        }
      if (!suppressed) {
        kept.push_back(i);
        keep[i] = 1;
      }
    }
  }
  std::vector<Detection> out;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (keep[i]) out.push_back(boxes[i]);
  return out;
}

struct Detector::Impl {
  DetectorOptions options;
  TorchScriptRunner runner;
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

struct Segmenter::Impl {
  TorchScriptRunner runner;
  explicit Impl(const PerceptionInput &o) : runner(o, "segmenter") {}
};

Segmenter::Segmenter(const PerceptionInput &options) : impl_(std::make_unique<Impl>(options)) {}
Segmenter::~Segmenter() = default;

ClassMap Segmenter::segment(const FrameView &frame) {
  c10::InferenceMode guard;
  InputGeometry g;
  const c10::IValue out = impl_->runner.run(impl_->runner.input(frame, &g));
  constexpr const char *expected =
      "expected segmentation logits 1 x C x H x W (C <= 256), or a dict holding them under "
      "\"out\"";
  c10::IValue v = out;
  if (v.isGenericDict()) {
    const auto dict = v.toGenericDict();
    const auto it = dict.find(c10::IValue(std::string("out")));
    if (it == dict.end()) throw Error(std::string(expected) + ", got " + describe(out));
    v = it->value();
  }
  if (!v.isTensor()) throw Error(std::string(expected) + ", got " + describe(out));
  const torch::Tensor logits = v.toTensor();
  if (logits.dim() != 4 || logits.size(0) != 1 || logits.size(1) < 1 || logits.size(1) > 256 ||
      logits.size(2) < 1 || logits.size(3) < 1)
    throw Error(std::string(expected) + ", got a tensor " + shape_of(logits));
  const torch::Tensor arg = logits[0].argmax(0).to(torch::kCPU, torch::kByte).contiguous();
  const int64_t h = arg.size(0), w = arg.size(1);
  const uint8_t *a = arg.data_ptr<uint8_t>();
  ClassMap map;
  map.width = frame.width, map.height = frame.height;
  map.num_classes = static_cast<int>(logits.size(1));
  map.ids.resize(size_t(frame.width) * frame.height);
  // Nearest neighbour, as torch's 'nearest' (source index floor(dst * src / dst_size)), over the
  // part of the logits that covers the frame: all of them, or the inside of the letterbox.
  const auto source = [](int64_t dst, int64_t dst_size, int64_t pad, int64_t content, int64_t in,
                         int64_t src_size) {
    return std::min<int64_t>((pad * dst_size + dst * content) * src_size / (in * dst_size),
                             src_size - 1);
  };
  std::vector<int64_t> col(frame.width);
  for (int x = 0; x < frame.width; ++x)
    col[x] = source(x, frame.width, g.pad_x, g.content_w, g.in_w, w);
  for (int y = 0; y < frame.height; ++y) {
    const uint8_t *src = a + source(y, frame.height, g.pad_y, g.content_h, g.in_h, h) * w;
    uint8_t *dst = map.ids.data() + size_t(y) * frame.width;
    for (int x = 0; x < frame.width; ++x) dst[x] = src[col[x]];
  }
  return map;
}

const PerceptionInput &Segmenter::options() const {
  return impl_->runner.options();
}
std::string Segmenter::device() const {
  return impl_->runner.device();
}

}  // namespace sapnet
