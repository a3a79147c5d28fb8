#include "sapnet.h"

#include <map>
#include <string>

#include "error.h"

namespace sapnet {
namespace {

torch::nn::Conv2d conv3x3(int in, int out, int dilation = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).padding(dilation).dilation(dilation).bias(true));
}

torch::nn::Conv2d conv1x1(int in, int out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false));
}

// Registers `conv` as child "0" of a Sequential called `name`, mirroring the authors' nn.Sequential
// wrappers (conv + activation) so that keys read "<name>.0.weight".
torch::nn::Conv2d wrap(torch::nn::Module &parent, const std::string &name, torch::nn::Conv2d conv) {
  torch::nn::Sequential seq;
  seq->push_back("0", conv);
  parent.register_module(name, seq);
  return conv;
}

// ReLU that reuses its input's memory when no gradient can need it (inference), saving one
// full-frame allocation and pass per call.
torch::Tensor relu_reusing(torch::Tensor x) {
  return x.requires_grad() ? torch::relu(x) : x.relu_();
}

}  // namespace

ChannelResidualAttentionImpl::ChannelResidualAttentionImpl(int channels, int reduction) {
  torch::nn::Sequential du;
  squeeze_ = conv1x1(channels, channels / reduction);
  expand_ = conv1x1(channels / reduction, channels);
  du->push_back("0", squeeze_);
  du->push_back("1", torch::nn::ReLU());
  du->push_back("2", expand_);
  register_module("conv_du", du);
  direct_ = register_module("conv_1_1", conv1x1(channels, channels));
}

torch::Tensor ChannelResidualAttentionImpl::forward(const torch::Tensor &x) {
  auto y = x.mean({2, 3}, /*keepdim=*/true);
  auto w = torch::sigmoid(expand_(torch::relu(squeeze_(y))) + direct_(y));
  return x.requires_grad() ? x * w : x.mul_(w);  // x is always a fresh conv output
}

DilatedUnitImpl::DilatedUnitImpl(int channels, int dilation, bool cra, int cra_reduction) {
  conv_a_ = register_module("0", conv3x3(channels, channels, dilation));
  if (cra) {
    cra_a_ = register_module("1", ChannelResidualAttention(channels, cra_reduction));
    conv_b_ = register_module("3", conv3x3(channels, channels, dilation));
    cra_b_ = register_module("4", ChannelResidualAttention(channels, cra_reduction));
  } else {
    conv_b_ = register_module("2", conv3x3(channels, channels, dilation));
  }
}

torch::Tensor DilatedUnitImpl::forward(const torch::Tensor &x) {
  auto y = conv_a_(x);
  if (cra_a_) y = cra_a_(y);
  y = conv_b_(relu_reusing(y));
  if (cra_b_) y = cra_b_(y);
  return relu_reusing(y);
}

SAPNetImpl::SAPNetImpl(const NetworkConfig &config) : config_(config) {
  config_.validate();
  const int c = config_.channels;
  conv0_ = wrap(*this, "conv0", conv3x3(6, c));
  for (size_t k = 0; k < config_.dilations.size(); ++k) {
    units_.push_back(
        register_module("res_conv" + std::to_string(k + 1),
                        DilatedUnit(c, config_.dilations[k], config_.cra, config_.cra_reduction)));
  }
  gate_i_ = wrap(*this, "conv_i", conv3x3(2 * c, c));
  gate_f_ = wrap(*this, "conv_f", conv3x3(2 * c, c));
  gate_g_ = wrap(*this, "conv_g", conv3x3(2 * c, c));
  gate_o_ = wrap(*this, "conv_o", conv3x3(2 * c, c));
  conv_out_ = wrap(*this, "conv", conv3x3(c, 3));
}

std::vector<torch::Tensor> SAPNetImpl::forward_stages(const torch::Tensor &rainy, int stages) {
  TORCH_CHECK(rainy.dim() == 4 && rainy.size(1) == 3, "SAPNet expects N x 3 x H x W, got ",
              rainy.sizes());
  if (stages <= 0 || stages > config_.stages) stages = config_.stages;
  const auto n = rainy.size(0), h = rainy.size(2), w = rainy.size(3);
  // The state follows the input's layout, so a channels-last input stays channels-last throughout.
  auto opts = rainy.options().memory_format(rainy.suggest_memory_format());
  auto hidden = torch::zeros({n, config_.channels, h, w}, opts);
  auto cell = torch::zeros({n, config_.channels, h, w}, opts);
  auto x = rainy;
  std::vector<torch::Tensor> outputs;
  outputs.reserve(stages);
  for (int t = 0; t < stages; ++t) {
    auto feat = relu_reusing(conv0_(torch::cat({rainy, x}, 1)));
    torch::Tensor i, f, g, o;
    if (gates_fused()) {
      auto pre = t == 0 ? torch::conv2d(feat, fused_gate_weight_feat_, fused_gate_bias_, 1, 1)
                        : torch::conv2d(torch::cat({feat, hidden}, 1), fused_gate_weight_,
                                        fused_gate_bias_, 1, 1);
      auto gates = pre.chunk(4, 1);
      i = torch::sigmoid(gates[0]), f = torch::sigmoid(gates[1]);
      g = torch::tanh(gates[2]), o = torch::sigmoid(gates[3]);
    } else {
      auto both = torch::cat({feat, hidden}, 1);
      i = torch::sigmoid(gate_i_(both)), f = torch::sigmoid(gate_f_(both));
      g = torch::tanh(gate_g_(both)), o = torch::sigmoid(gate_o_(both));
    }
    cell = t == 0 ? i * g : f * cell + i * g;  // the cell starts at zero
    hidden = o * torch::tanh(cell);
    feat = hidden;
    for (auto &unit : units_) feat = relu_reusing(unit(feat) + feat);
    x = conv_out_(feat) + rainy;
    outputs.push_back(x);
  }
  return outputs;
}

void SAPNetImpl::fuse_gates() {
  torch::NoGradGuard no_grad;
  auto weight = torch::cat({gate_i_->weight, gate_f_->weight, gate_g_->weight, gate_o_->weight});
  auto bias = torch::cat({gate_i_->bias, gate_f_->bias, gate_g_->bias, gate_o_->bias});
  auto weight_feat = weight.narrow(1, 0, config_.channels);
  if (gates_fused()) {  // refresh in place: the buffers keep their device, dtype and layout
    fused_gate_weight_.copy_(weight);
    fused_gate_bias_.copy_(bias);
    fused_gate_weight_feat_.copy_(weight_feat);
    return;
  }
  fused_gate_weight_ = register_buffer("fused_gates_weight", weight.contiguous());
  fused_gate_bias_ = register_buffer("fused_gates_bias", bias.contiguous());
  fused_gate_weight_feat_ = register_buffer("fused_gates_weight_feat", weight_feat.contiguous());
}

}  // namespace sapnet

namespace sapnet {
namespace {

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string join(const std::vector<std::string> &items, size_t most = 8) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < most; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > most) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

}  // namespace

void load_weights(SAPNetImpl &net,
                  const std::vector<std::pair<std::string, torch::Tensor>> &weights) {
  auto params = net.named_parameters(/*recurse=*/true);
  std::map<std::string, torch::Tensor> given(weights.begin(), weights.end());
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto &p : params) {
    auto it = given.find(p.key());
    if (it == given.end())
      missing.push_back(p.key());
    else if (it->second.sizes() != p.value().sizes())
      mismatched.push_back(p.key() + " file " + shape_str(it->second.sizes()) + " vs network " +
                           shape_str(p.value().sizes()));
  }
  for (const auto &kv : weights)
    if (!params.contains(kv.first)) unexpected.push_back(kv.first);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = "weights do not fit " + net.config().describe();
    if (!missing.empty()) msg += "; missing keys: " + join(missing);
    if (!unexpected.empty()) msg += "; unexpected keys: " + join(unexpected);
    if (!mismatched.empty()) msg += "; shape mismatch: " + join(mismatched);
    throw Error(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto &p : params) p.value().copy_(given.at(p.key()));
  if (net.gates_fused()) net.fuse_gates();
}

std::vector<std::pair<std::string, torch::Tensor>> weights_of(const SAPNetImpl &net) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto &p : net.named_parameters(true)) out.emplace_back(p.key(), p.value().detach());
  return out;
}

}  // namespace sapnet
