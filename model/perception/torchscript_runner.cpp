#include "perception/torchscript_runner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "engine.h"
#include "error.h"

namespace sapnet::perception {
namespace {

// Where the module runs. Kept to this one function so that a shared device parser can replace it.
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

}  // namespace

std::string shape_of(const torch::Tensor &t) {
  std::ostringstream s;
  s << "[";
  for (int64_t d = 0; d < t.dim(); ++d) s << (d ? " x " : "") << t.size(d);
  s << "] " << t.scalar_type();
  return s.str();
}

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

TorchScriptRunner::TorchScriptRunner(const PerceptionInput &options, const char *what)
    : options_(options) {
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

c10::IValue TorchScriptRunner::input(const FrameView &frame, InputGeometry *g) {
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

}  // namespace sapnet::perception
