#include "perception/segmenter.h"

#include <algorithm>

#include "error.h"
#include "perception/torchscript_runner.h"

namespace sapnet {

using perception::describe;
using perception::InputGeometry;
using perception::shape_of;

struct Segmenter::Impl {
  perception::TorchScriptRunner runner;
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
