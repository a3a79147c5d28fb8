// The seed paper's training losses (eqs. 1-5) as LibTorch functions and modules.
#pragma once

#include <torch/nn.h>

#include <string>
#include <vector>

#include "torch_file.h"

namespace sapnet::loss {

// Mean SSIM of two N x C x H x W batches in [0, 1]: Gaussian window 11, sigma 1.5, per channel,
// zero 'same' padding as the authors' training code (pytorch_ssim). Differentiable.
torch::Tensor ssim(const torch::Tensor &x, const torch::Tensor &y);

// VGG-16's convolutional trunk with torchvision's parameter names ("features.N.weight"), returning
// relu1_2, relu2_2, relu3_3, relu4_3 (and relu5_3 when `depth` is 5). Input: ImageNet-normalised.
class Vgg16FeaturesImpl : public torch::nn::Module {
 public:
  explicit Vgg16FeaturesImpl(int depth = 5);
  std::vector<torch::Tensor> forward(torch::Tensor x);
  int depth() const { return depth_; }

 private:
  int depth_;
  std::vector<torch::nn::Conv2d> convs_;
};
TORCH_MODULE(Vgg16Features);

// Loads torchvision's vgg16 state dict (features.* used, classifier.* ignored). Throws
// sapnet::Error.
void load_vgg16(Vgg16FeaturesImpl &vgg, const NamedTensors &weights, const std::string &path);

// x in [0, 1] -> ImageNet normalisation.
torch::Tensor imagenet_normalise(const torch::Tensor &x);

// Eq. 3: sum_i w_i * L1(V_i(D), V_i(G)) / L1(V_i(D), V_i(R)), w = 1/32, 1/16, 1/8, 1/4 over
// relu1_2..relu4_3. Positive and negative features carry no gradient.
torch::Tensor perceptual_contrastive(Vgg16FeaturesImpl &vgg, const torch::Tensor &derained,
                                     const torch::Tensor &clean, const torch::Tensor &rainy);

// Eq. 4, LPIPS (VGG variant): channel-normalised features of relu1_2..relu5_3, squared difference
// weighted by the learned 1x1 heads (lin0..lin4), spatial mean, summed over layers; per-batch mean.
class LpipsImpl : public torch::nn::Module {
 public:
  LpipsImpl();
  // Heads from the released v0.1_vgg.pth (keys linK.model.1.weight). Throws sapnet::Error.
  void load_heads(const NamedTensors &weights, const std::string &path);
  torch::Tensor forward(Vgg16FeaturesImpl &vgg, const torch::Tensor &x, const torch::Tensor &y);

 private:
  std::vector<torch::Tensor> heads_;
};
TORCH_MODULE(Lpips);

// Focal loss -alpha (1 - p_t)^gamma log p_t averaged over pixels; logits N x C x H x W, target N x
// H x W.
torch::Tensor focal(const torch::Tensor &logits, const torch::Tensor &target, double alpha = 0.25,
                    double gamma = 2.0);

// The unsupervised background segmentation network (UBS) of eq. 2: a VGG-16 trunk (ImageNet weights
// when given) up to relu3_3 and a Gaussian-initialised 1x1 head, frozen. It labels the derained
// image; its own argmax is the pseudo-target of the focal loss.
class BackgroundSegmenterImpl : public torch::nn::Module {
 public:
  explicit BackgroundSegmenterImpl(int classes = 8, uint64_t seed = 0);
  torch::Tensor forward(const torch::Tensor &x);  // logits N x classes x H x W
  Vgg16Features &trunk() { return trunk_; }

 private:
  Vgg16Features trunk_{nullptr};
  torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(BackgroundSegmenter);

// Eq. 2 on a derained batch.
torch::Tensor segmentation(BackgroundSegmenterImpl &ubs, const torch::Tensor &derained);

}  // namespace sapnet::loss
