#include "export/export.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/script.h>

#include <ostream>

#include "atomic_file.h"
#include "error.h"
#include "model_file.h"
#include "sapnet.h"

namespace sapnet {
namespace {

// "sapnet::SAPNetImpl" -> "SAPNet": a TorchScript type name for a module's class.
std::string type_name_of(const torch::nn::Module &net) {
  std::string name = net.name();
  name = name.substr(name.rfind(':') == std::string::npos ? 0 : name.rfind(':') + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0)
    name.resize(name.size() - 4);
  return name;
}

// A TorchScript module whose attributes are `net`'s own tensors (not copies), child by child, so
// that the tracer records each use of a parameter as an attribute read and the saved module keeps
// the state-dict names ("conv0.0.weight").
torch::jit::Module script_tree(const torch::nn::Module &net,
                               const std::shared_ptr<torch::jit::CompilationUnit> &cu) {
  torch::jit::Module m(c10::QualifiedName("__torch__.sapnet." + type_name_of(net)), cu,
                       /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), net.is_training());
  for (const auto &p : net.named_parameters(/*recurse=*/false))
    m.register_parameter(p.key(), p.value(), /*is_buffer=*/false);
  for (const auto &b : net.named_buffers(/*recurse=*/false))
    m.register_parameter(b.key(), b.value(), /*is_buffer=*/true);
  for (const auto &child : net.named_children())
    m.register_module(child.key(), script_tree(*child.value(), cu));
  return m;
}

// The module's forward over `stages`, traced into `module` as its forward method. With fused gates
// the network never reads its zero initial state, so nothing in the graph depends on the traced
// frame size (a zeros() of that size would otherwise be baked in).
void trace_forward(SAPNet &net, int stages, torch::jit::Module &module) {
  torch::NoGradGuard no_grad;
  torch::jit::Stack inputs{torch::rand({1, 3, 16, 16})};
  auto traced = torch::jit::tracer::trace(
      std::move(inputs),
      [&](torch::jit::Stack in) -> torch::jit::Stack {
        return {net->forward_stages(in.at(0).toTensor(), stages).back()};
      },
      [](const torch::autograd::Variable &) { return std::string(); }, /*strict=*/true,
      /*force_outplace=*/false, &module, {"rainy"});
  std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;
  torch::jit::EliminateDeadCode(graph);
  auto *fn = module._ivalue()->compilation_unit()->create_function(
      c10::QualifiedName(*module.type()->name(), "forward"), graph);
  module.type()->addMethod(fn);
}

}  // namespace

void export_torchscript(const std::string &model_path, const std::string &out_path, int stages) {
  ModelFile m = load_model_file(model_path);
  if (stages > m.network.stages)
    throw Error(model_path + ": --stages " + std::to_string(stages) + " but the model has " +
                std::to_string(m.network.stages) + " stage(s)");
  if (stages <= 0) stages = m.network.stages;
  SAPNet net(m.network);
  try {
    load_weights(*net, m.weights);  // names every missing or mismatched tensor
  } catch (const Error &e) {
    throw Error(model_path + ": " + e.what());
  }
  net->eval();
  net->fuse_gates();  // as the Engine runs it
  try {
    torch::jit::Module module = script_tree(*net, std::make_shared<torch::jit::CompilationUnit>());
    trace_forward(net, stages, module);
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
