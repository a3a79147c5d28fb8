// The SAPNet network (Zheng et al., WACV 2022) as a LibTorch module. Parameter names equal the
// authors' state-dict keys without the DataParallel "module." prefix, so weights import by name.
#pragma once

#include <torch/nn.h>

#include <vector>

#include "network_config.h"

namespace sapnet {

// Channel residual attention: x * sigmoid(bottleneck(mean(x)) + conv1x1(mean(x))).
class ChannelResidualAttentionImpl : public torch::nn::Module {
 public:
  ChannelResidualAttentionImpl(int channels, int reduction);
  torch::Tensor forward(const torch::Tensor &x);

 private:
  torch::nn::Conv2d squeeze_{nullptr}, expand_{nullptr}, direct_{nullptr};
};
TORCH_MODULE(ChannelResidualAttention);

// One progressive dilated unit: conv(dil) -> [CRA] -> ReLU -> conv(dil) -> [CRA] -> ReLU.
// Children are named as in the authors' nn.Sequential ("0", "1", "3", "4" with CRA; "0", "2"
// without).
class DilatedUnitImpl : public torch::nn::Module {
 public:
  DilatedUnitImpl(int channels, int dilation, bool cra, int cra_reduction);
  torch::Tensor forward(const torch::Tensor &x);

 private:
  torch::nn::Conv2d conv_a_{nullptr}, conv_b_{nullptr};
  ChannelResidualAttention cra_a_{nullptr}, cra_b_{nullptr};
};
TORCH_MODULE(DilatedUnit);

class SAPNetImpl : public torch::nn::Module {
 public:
  explicit SAPNetImpl(const NetworkConfig &config = NetworkConfig::sapnet());

  // rainy: N x 3 x H x W in [0, 1]. Returns the image after each stage (at most `stages`, default
  // all); the last entry is the derained result.
  std::vector<torch::Tensor> forward_stages(const torch::Tensor &rainy, int stages = 0);
  torch::Tensor forward(const torch::Tensor &rainy) { return forward_stages(rainy).back(); }

  const NetworkConfig &config() const { return config_; }

  // For inference: runs the four LSTM gate convolutions as one convolution with four times the
  // output channels (the same math, one pass over the input). The separate gate parameters stay
  // (checkpoints and weights_of() are unchanged); the fused copy is a buffer that follows .to() and
  // is refreshed by load_weights(). Training never fuses: gradients flow through the separate
  // gates.
  void fuse_gates();
  bool gates_fused() const { return fused_gate_weight_.defined(); }

 private:
  NetworkConfig config_;
  // The fused gates, and their input-feature half alone: in stage 1 the hidden state is zero, so
  // that half is all the gates see.
  torch::Tensor fused_gate_weight_, fused_gate_bias_, fused_gate_weight_feat_;
  torch::nn::Conv2d conv0_{nullptr}, gate_i_{nullptr}, gate_f_{nullptr}, gate_g_{nullptr},
      gate_o_{nullptr}, conv_out_{nullptr};
  std::vector<DilatedUnit> units_;
};
TORCH_MODULE(SAPNet);

// Copies weights into `net` by name. Throws sapnet::Error listing missing and unexpected keys and
// every shape mismatch (file shape vs network shape); `net` is left untouched then.
void load_weights(SAPNetImpl &net,
                  const std::vector<std::pair<std::string, torch::Tensor>> &weights);

// The network's parameters by name, detached (what a checkpoint stores).
std::vector<std::pair<std::string, torch::Tensor>> weights_of(const SAPNetImpl &net);

}  // namespace sapnet
