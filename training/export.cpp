#include "export.h"

#include <torch/script.h>

#include <map>
#include <ostream>
#include <sstream>

#include "atomic_file.h"
#include "error.h"
#include "model_file.h"
#include "sapnet.h"

namespace sapnet {
namespace {

std::string attr(const std::string &key) {
  std::string a = key;
  for (auto &c : a)
    if (c == '.') c = '_';
  return "w_" + a;
}

// TorchScript source for the network of `cfg`, reading parameters registered under attr(key).
std::string script_source(const NetworkConfig &cfg, int stages) {
  std::ostringstream s;
  auto conv = [&](const std::string &x, const std::string &key, int dil) {
    return "torch.conv2d(" + x + ", self." + attr(key + ".weight") + ", self." +
           attr(key + ".bias") + ", [1, 1], [" + std::to_string(dil) + ", " + std::to_string(dil) +
           "], [" + std::to_string(dil) + ", " + std::to_string(dil) + "], 1)";
  };
  auto cra = [&](const std::string &x, const std::string &key) {
    const std::string y = "torch.mean(" + x + ", [2, 3], True)";
    return x + " * torch.sigmoid(torch.conv2d(torch.relu(torch.conv2d(" + y + ", self." +
           attr(key + ".conv_du.0.weight") + ")), self." + attr(key + ".conv_du.2.weight") +
           ") + torch.conv2d(" + y + ", self." + attr(key + ".conv_1_1.weight") + "))";
  };
  s << "def forward(self, rainy: Tensor) -> Tensor:\n"
    << "    n = rainy.size(0)\n    h = rainy.size(2)\n    w = rainy.size(3)\n"
    << "    hidden = torch.zeros([n, " << cfg.channels
    << ", h, w], dtype=rainy.dtype, device=rainy.device)\n"
    << "    cell = torch.zeros([n, " << cfg.channels
    << ", h, w], dtype=rainy.dtype, device=rainy.device)\n"
    << "    x = rainy\n"
    << "    for _ in range(" << stages << "):\n"
    << "        f = torch.relu(" << conv("torch.cat([rainy, x], 1)", "conv0.0", 1) << ")\n"
    << "        both = torch.cat([f, hidden], 1)\n"
    << "        i = torch.sigmoid(" << conv("both", "conv_i.0", 1) << ")\n"
    << "        fg = torch.sigmoid(" << conv("both", "conv_f.0", 1) << ")\n"
    << "        g = torch.tanh(" << conv("both", "conv_g.0", 1) << ")\n"
    << "        o = torch.sigmoid(" << conv("both", "conv_o.0", 1) << ")\n"
    << "        cell = fg * cell + i * g\n"
    << "        hidden = o * torch.tanh(cell)\n"
    << "        f = hidden\n";
  for (size_t k = 0; k < cfg.dilations.size(); ++k) {
    const std::string unit = "res_conv" + std::to_string(k + 1);
    const int d = cfg.dilations[k];
    if (cfg.cra) {
      s << "        u = " << conv("f", unit + ".0", d) << "\n"
        << "        u = torch.relu(" << cra("u", unit + ".1") << ")\n"
        << "        u = " << conv("u", unit + ".3", d) << "\n"
        << "        u = torch.relu(" << cra("u", unit + ".4") << ")\n";
    } else {
      s << "        u = torch.relu(" << conv("f", unit + ".0", d) << ")\n"
        << "        u = torch.relu(" << conv("u", unit + ".2", d) << ")\n";
    }
    s << "        f = torch.relu(u + f)\n";
  }
  s << "        x = " << conv("f", "conv.0", 1) << " + rainy\n"
    << "    return x\n";
  return s.str();
}

}  // namespace

void export_torchscript(const std::string &model_path, const std::string &out_path, int stages) {
  ModelFile m = load_model_file(model_path);
  if (stages > m.network.stages)
    throw Error(model_path + ": --stages " + std::to_string(stages) + " but the model has " +
                std::to_string(m.network.stages) + " stage(s)");
  if (stages <= 0) stages = m.network.stages;
  try {
    SAPNet check(m.network);
    load_weights(*check, m.weights);  // names every missing or mismatched tensor
  } catch (const Error &e) {
    throw Error(model_path + ": " + e.what());
  }
  torch::jit::Module module("SAPNet");
  for (auto &[key, tensor] : m.weights)
    module.register_parameter(attr(key), tensor.contiguous(), false);
  try {
    module.define(script_source(m.network, stages));
    module.eval();
    AtomicFile file(out_path);
    {
      AtomicFileBuf buf(file);
      std::ostream out(&buf);
      module.save(out);
    }
    file.commit();
  } catch (const c10::Error &e) {
    const std::string what = e.what_without_backtrace();
    throw Error(out_path + ": cannot export TorchScript (" + what.substr(0, what.find('\n')) + ")");
  }
}

}  // namespace sapnet
