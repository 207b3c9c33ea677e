#include "trace.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <utility>

namespace reskit::engine {
namespace {

// The tracer bakes tensors it did not see as inputs (the weights) into the
// graph as constants, which it refuses for tensors that require grad; the
// flags are restored however tracing ends.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& root) {
    for (at::Tensor& p : root.parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FrozenParameters() {
    for (auto& [p, requires_grad] : saved_) p.requires_grad_(requires_grad);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<std::pair<at::Tensor, bool>> saved_;
};

}  // namespace

std::shared_ptr<torch::jit::Graph> trace_graph(torch::nn::Module& root, const TensorFunction& forward,
                                               const std::vector<at::Tensor>& example, torch::jit::Module* self) {
  torch::jit::Stack inputs(example.begin(), example.end());
  const auto traced = [&](torch::jit::Stack stack) {
    std::vector<at::Tensor> xs;
    for (const c10::IValue& v : stack) xs.push_back(v.toTensor());
    std::vector<c10::IValue> outs;
    for (const at::Tensor& t : forward(xs)) outs.emplace_back(t);
    return torch::jit::Stack{c10::ivalue::Tuple::create(std::move(outs))};
  };
  root.eval();
  std::shared_ptr<torch::jit::Graph> graph;
  {
    FrozenParameters frozen(root);
    at::NoGradGuard no_grad;
    graph = torch::jit::tracer::trace(inputs, traced, [](const at::Tensor&) { return std::string(); },
                                      /*strict=*/false, /*force_outplace=*/false, self)
                .first->graph;
  }
  // The constants are the parameters themselves; detached, they no longer
  // follow the flags restored above, which the freezing passes refuse.
  for (torch::jit::Node* node : graph->nodes())
    if (node->kind() == c10::prim::Constant && node->hasAttribute(c10::attr::value) &&
        node->kindOf(c10::attr::value) == torch::jit::AttributeKind::t)
      node->t_(c10::attr::value, node->t(c10::attr::value).detach());
  return graph;
}

torch::jit::Module trace_module(torch::nn::Module& root, const TensorFunction& forward,
                                const std::vector<at::Tensor>& example) {
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module module(c10::QualifiedName("__torch__.reskit.Traced"), unit, /*shouldMangle=*/true);
  module.register_attribute("training", c10::BoolType::get(), false);
  auto graph = trace_graph(root, forward, example, &module);
  auto method = unit->create_function(c10::QualifiedName(*module.type()->name(), "forward"), graph);
  module.type()->addMethod(method);
  return module;
}

}  // namespace reskit::engine
