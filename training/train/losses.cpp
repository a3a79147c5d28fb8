#include "train/losses.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <map>

#include "error.h"

namespace sapnet::loss {
namespace {

torch::Tensor gaussian_window(int size, double sigma, const torch::TensorOptions &opts) {
  auto coords = torch::arange(size, torch::kDouble) - (size / 2);
  auto g = torch::exp(-(coords * coords) / (2 * sigma * sigma));
  g = g / g.sum();
  return torch::outer(g, g).to(opts);
}

// VGG-16 layer plan: channels per conv, 'M' = max-pool (torchvision's cfg "D").
const std::vector<int> kVggPlan = {64, 64,  -1,  128, 128, -1,  256, 256, 256,
                                   -1, 512, 512, 512, -1,  512, 512, 512};
// Index in torchvision's `features` Sequential of each conv (ReLU and pool layers in between).
const std::vector<int> kVggConvIndex = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};
// The convs after which a feature is taken (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3).
const std::vector<int> kVggTaps = {1, 3, 6, 9, 12};

}  // namespace

torch::Tensor ssim(const torch::Tensor &x, const torch::Tensor &y) {
  const int64_t c = x.size(1);
  auto w = gaussian_window(11, 1.5, x.options()).expand({c, 1, 11, 11}).contiguous();
  auto blur = [&](const torch::Tensor &t) {
    return torch::nn::functional::conv2d(
        t, w, torch::nn::functional::Conv2dFuncOptions().padding(5).groups(c));
  };
  auto mx = blur(x), my = blur(y);
  auto vx = blur(x * x) - mx * mx, vy = blur(y * y) - my * my, cxy = blur(x * y) - mx * my;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return map.mean();
}

Vgg16FeaturesImpl::Vgg16FeaturesImpl(int depth) : depth_(depth) {
  if (depth < 1 || depth > 5) throw Error("VGG-16 depth must be 1..5");
  const int last_conv = kVggTaps[depth - 1];
  int in = 3, conv = 0;
  for (int ch : kVggPlan) {
    if (ch < 0) continue;
    if (conv > last_conv) break;
    convs_.push_back(
        register_module("features_" + std::to_string(kVggConvIndex[conv]),
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, ch, 3).padding(1))));
    in = ch;
    ++conv;
  }
}

std::vector<torch::Tensor> Vgg16FeaturesImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> taps;
  size_t tap = 0;
  for (size_t i = 0; i < convs_.size(); ++i) {
    // Max-pool before the first conv of blocks 2..5.
    if (i == 2 || i == 4 || i == 7 || i == 10) x = torch::max_pool2d(x, 2, 2);
    x = torch::relu(convs_[i](x));
    if (tap < kVggTaps.size() && static_cast<int>(i) == kVggTaps[tap]) {
      taps.push_back(x);
      ++tap;
    }
  }
  return taps;
}

void load_vgg16(Vgg16FeaturesImpl &vgg, const NamedTensors &weights, const std::string &path) {
  std::map<std::string, torch::Tensor> given(weights.begin(), weights.end());
  torch::NoGradGuard no_grad;
  for (auto &p : vgg.named_parameters()) {
    // "features_17.weight" -> torchvision's "features.17.weight"
    std::string key = p.key();
    key[8] = '.';
    auto it = given.find(key);
    if (it == given.end())
      throw Error(path + ": not a torchvision vgg16 state dict (missing " + key + ")");
    if (it->second.sizes() != p.value().sizes())
      throw Error(path + ": " + key + " has the wrong shape for VGG-16");
    p.value().copy_(it->second);
  }
}

torch::Tensor imagenet_normalise(const torch::Tensor &x) {
  auto mean = torch::tensor({0.485, 0.456, 0.406}, x.options()).view({1, 3, 1, 1});
  auto std = torch::tensor({0.229, 0.224, 0.225}, x.options()).view({1, 3, 1, 1});
  return (x - mean) / std;
}

torch::Tensor perceptual_contrastive(Vgg16FeaturesImpl &vgg, const torch::Tensor &derained,
                                     const torch::Tensor &clean, const torch::Tensor &rainy) {
  static const double kWeights[4] = {1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4};
  auto d = vgg.forward(imagenet_normalise(derained));
  std::vector<torch::Tensor> g, r;
  {
    torch::NoGradGuard no_grad;
    g = vgg.forward(imagenet_normalise(clean));
    r = vgg.forward(imagenet_normalise(rainy));
  }
  auto total = torch::zeros({}, derained.options());
  for (int i = 0; i < 4; ++i) {
    auto positive = torch::l1_loss(d[i], g[i]);
    auto negative = torch::l1_loss(d[i], r[i]);
    total = total + kWeights[i] * positive / (negative + 1e-7);
  }
  return total;
}

LpipsImpl::LpipsImpl() {
  for (int ch : {64, 128, 256, 512, 512})
    heads_.push_back(
        register_buffer("lin" + std::to_string(heads_.size()), torch::ones({1, ch, 1, 1}) / ch));
}

void LpipsImpl::load_heads(const NamedTensors &weights, const std::string &path) {
  std::map<std::string, torch::Tensor> given(weights.begin(), weights.end());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < heads_.size(); ++i) {
    const std::string key = "lin" + std::to_string(i) + ".model.1.weight";
    auto it = given.find(key);
    if (it == given.end()) throw Error(path + ": not LPIPS VGG heads (missing " + key + ")");
    if (it->second.sizes() != heads_[i].sizes())
      throw Error(path + ": " + key + " has the wrong shape");
    heads_[i].copy_(it->second);
  }
}

torch::Tensor LpipsImpl::forward(Vgg16FeaturesImpl &vgg, const torch::Tensor &x,
                                 const torch::Tensor &y) {
  // LPIPS's own input scaling: [0, 1] -> [-1, 1], then (v - shift) / scale.
  auto shift = torch::tensor({-0.030, -0.088, -0.188}, x.options()).view({1, 3, 1, 1});
  auto scale = torch::tensor({0.458, 0.448, 0.450}, x.options()).view({1, 3, 1, 1});
  auto fx = vgg.forward((x * 2 - 1 - shift) / scale);
  auto fy = vgg.forward((y * 2 - 1 - shift) / scale);
  auto unit = [](const torch::Tensor &f) {
    return f / (torch::sqrt((f * f).sum(1, true)) + 1e-10);
  };
  auto total = torch::zeros({x.size(0)}, x.options());
  for (size_t i = 0; i < fx.size() && i < heads_.size(); ++i) {
    auto diff = unit(fx[i]) - unit(fy[i]);
    auto weighted = (diff * diff * heads_[i].to(x.dtype())).sum(1);  // 1x1 head, no bias
    total = total + weighted.mean({1, 2});
  }
  return total.mean();
}

torch::Tensor focal(const torch::Tensor &logits, const torch::Tensor &target, double alpha,
                    double gamma) {
  auto logp = torch::log_softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1);
  auto p = logp.exp();
  return (-alpha * torch::pow(1 - p, gamma) * logp).mean();
}

BackgroundSegmenterImpl::BackgroundSegmenterImpl(int classes, uint64_t seed) {
  trunk_ = register_module("trunk", Vgg16Features(3));
  head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(256, classes, 1)));
  // Deterministic Gaussian head (and trunk, until ImageNet weights replace it).
  auto gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto &p : parameters()) {
    if (p.dim() > 1)
      p.normal_(0.0,
                p.size(0) == classes ? 0.01 : std::sqrt(2.0 / (p.size(1) * p.size(2) * p.size(3))),
                gen);
    else
      p.zero_();
    p.set_requires_grad(false);
  }
}

torch::Tensor BackgroundSegmenterImpl::forward(const torch::Tensor &x) {
  auto f = trunk_->forward(imagenet_normalise(x)).back();
  auto logits = head_(f);
  return torch::nn::functional::interpolate(logits,
                                            torch::nn::functional::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                                .mode(torch::kBilinear)
                                                .align_corners(false));
}

torch::Tensor segmentation(BackgroundSegmenterImpl &ubs, const torch::Tensor &derained) {
  auto logits = ubs.forward(derained);
  auto target = logits.argmax(1).detach();
  return focal(logits, target);
}

}  // namespace sapnet::loss
