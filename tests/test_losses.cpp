// The paper's losses against reference numbers from an independent PyTorch/torchvision computation
// (tests/reference/losses_reference.py), and gradient checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "error.h"
#include "shared_data.h"
#include "torch_file.h"
#include "train/losses.h"

namespace sapnet {
namespace {

torch::Tensor fill(std::vector<int64_t> shape, double a, double b, double freq, double phase) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  auto i = torch::arange(n, torch::kDouble);
  return (a + b * torch::sin(freq * i + phase)).reshape(shape);
}

struct Images {
  torch::Tensor derained = fill({2, 3, 32, 32}, 0.5, 0.4, 0.37, 0.0);
  torch::Tensor clean = fill({2, 3, 32, 32}, 0.5, 0.4, 0.23, 1.0);
  torch::Tensor rainy = fill({2, 3, 32, 32}, 0.5, 0.4, 0.11, 2.0);
};

// VGG-16 with the reference script's deterministic weights, in double precision.
loss::Vgg16Features deterministic_vgg() {
  loss::Vgg16Features vgg(5);
  vgg->to(torch::kDouble);
  torch::NoGradGuard g;
  int j = 0;
  for (auto &p : vgg->parameters()) {
    if (p.dim() == 4)
      p.copy_(fill(p.sizes().vec(), 0.0, 1.7 * std::sqrt(2.0 / (p.size(1) * 9)), 0.013, j));
    else
      p.copy_(0.01 * torch::cos(0.7 * torch::arange(p.numel(), torch::kDouble) + j));
    ++j;
  }
  return vgg;
}

TEST(Losses, SsimMatchesReference) {
  Images im;
  EXPECT_NEAR(loss::ssim(im.derained, im.clean).item<double>(), 0.13234046560178672, 1e-12);
  EXPECT_NEAR(loss::ssim(im.clean, im.clean).item<double>(), 1.0, 1e-12);
}

TEST(Losses, PerceptualContrastiveMatchesReference) {
  Images im;
  auto vgg = deterministic_vgg();
  EXPECT_NEAR(loss::perceptual_contrastive(*vgg, im.derained, im.clean, im.rainy).item<double>(),
              0.3176630693119842, 1e-9);
}

TEST(Losses, LpipsWithReleasedHeadsMatchesReference) {
  SAPNET_REQUIRE_SHARED(heads, "weights/lpips-linear/v0.1_vgg.pth");
  Images im;
  auto vgg = deterministic_vgg();
  loss::Lpips lpips;
  lpips->load_heads(read_torch_state_dict(heads), heads);
  EXPECT_NEAR(lpips->forward(*vgg, im.derained, im.clean).item<double>(), 0.0015364691625081317,
              1e-12);
  EXPECT_NEAR(lpips->forward(*vgg, im.clean, im.clean).item<double>(), 0.0, 1e-15);
}

TEST(Losses, FocalMatchesReference) {
  auto logits = fill({2, 4, 5, 6}, 0.0, 2.0, 0.37, 0.5);
  auto target = (torch::arange(60, torch::kLong) * 7 % 4).reshape({2, 5, 6});
  EXPECT_NEAR(loss::focal(logits, target).item<double>(), 0.4642927846137981, 1e-12);
}

// Central differences in double precision against autograd, at a few input coordinates.
void expect_gradient_matches(const std::function<torch::Tensor(const torch::Tensor &)> &f,
                             torch::Tensor x) {
  x = x.clone().set_requires_grad(true);
  auto grad = torch::autograd::grad({f(x)}, {x})[0];
  torch::NoGradGuard g;
  const double h = 1e-6;
  for (int64_t idx : {int64_t(0), int64_t(77), int64_t(1000), x.numel() - 1}) {
    auto xp = x.detach().clone(), xm = x.detach().clone();
    xp.view(-1)[idx] += h;
    xm.view(-1)[idx] -= h;
    const double numeric = (f(xp).item<double>() - f(xm).item<double>()) / (2 * h);
    EXPECT_NEAR(grad.view(-1)[idx].item<double>(), numeric, 1e-6 + 1e-4 * std::abs(numeric))
        << "index " << idx;
  }
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  Images im;
  expect_gradient_matches([&](const torch::Tensor &x) { return -loss::ssim(x, im.clean); },
                          im.derained);
  auto vgg = deterministic_vgg();
  expect_gradient_matches(
      [&](const torch::Tensor &x) {
        return loss::perceptual_contrastive(*vgg, x, im.clean, im.rainy);
      },
      im.derained);
  loss::Lpips lpips;
  expect_gradient_matches([&](const torch::Tensor &x) { return lpips->forward(*vgg, x, im.clean); },
                          im.derained);
}

TEST(Losses, SegmentationTermIsFrozenAndPassesGradient) {
  loss::BackgroundSegmenter ubs(5, 3);
  for (auto &p : ubs->parameters()) EXPECT_FALSE(p.requires_grad());
  auto x = torch::rand({1, 3, 24, 24}).set_requires_grad(true);
  auto l = loss::segmentation(*ubs, x);
  EXPECT_GT(l.item<float>(), 0.0f);
  l.backward();
  EXPECT_GT(x.grad().abs().sum().item<float>(), 0.0f);
  // The same seed gives the same head (deterministic pseudo-labels).
  loss::BackgroundSegmenter again(5, 3);
  EXPECT_TRUE(torch::equal(ubs->parameters().back(), again->parameters().back()));
}

TEST(Losses, WrongVggFile_n) {
  loss::Vgg16Features vgg(4);
  NamedTensors bogus = {{"features.0.weight", torch::zeros({1})}};
  EXPECT_THROW(loss::load_vgg16(*vgg, bogus, "bogus.pth"), Error);
  loss::Lpips lpips;
  EXPECT_THROW(lpips->load_heads(bogus, "bogus.pth"), Error);
}

}  // namespace
}  // namespace sapnet
