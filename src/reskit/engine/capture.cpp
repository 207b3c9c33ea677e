#include "capture.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>

#include <unordered_map>

#include "reskit/core/error.h"

namespace reskit::engine {
namespace {

// The prim ops that build and take apart lists and tuples have no
// registered operation of their own (the JIT interpreter runs them inline).
std::optional<torch::jit::Operation> container_operation(const torch::jit::Node* node) {
  const size_t inputs = node->inputs().size(), outputs = node->outputs().size();
  if (node->kind() == c10::prim::ListConstruct) {
    const c10::TypePtr element = node->output()->type()->expectRef<c10::ListType>().getElementType();
    return torch::jit::Operation([element, inputs](torch::jit::Stack& stack) {
      c10::impl::GenericList list(element);
      list.reserve(inputs);
      for (size_t i = stack.size() - inputs; i < stack.size(); ++i) list.push_back(std::move(stack[i]));
      stack.resize(stack.size() - inputs);
      stack.emplace_back(std::move(list));
    });
  }
  if (node->kind() == c10::prim::TupleConstruct)
    return torch::jit::Operation([inputs](torch::jit::Stack& stack) {
      std::vector<c10::IValue> elements(std::make_move_iterator(stack.end() - static_cast<std::ptrdiff_t>(inputs)),
                                        std::make_move_iterator(stack.end()));
      stack.resize(stack.size() - inputs);
      stack.emplace_back(c10::ivalue::Tuple::create(std::move(elements)));
    });
  if (node->kind() == c10::prim::ListUnpack || node->kind() == c10::prim::TupleUnpack)
    return torch::jit::Operation([outputs](torch::jit::Stack& stack) {
      const c10::IValue whole = std::move(stack.back());
      stack.pop_back();
      const std::vector<c10::IValue> elements =
          whole.isTuple() ? whole.toTupleRef().elements().vec() : whole.toListRef().vec();
      if (elements.size() != outputs)
        throw Error("engine: unpacking " + std::to_string(elements.size()) + " values into " + std::to_string(outputs));
      for (const c10::IValue& e : elements) stack.push_back(e);
    });
  return std::nullopt;
}

}  // namespace

Graph import_jit_graph(std::shared_ptr<torch::jit::Graph> traced) {
  // Lists of constants (strides, paddings) become constants themselves.
  torch::jit::ConstantPropagation(traced);
  const torch::jit::Graph& jit_graph = *traced;
  Graph g;
  std::unordered_map<const torch::jit::Value*, int64_t> ids;
  auto add_value = [&](const torch::jit::Value* v) {
    Value value;
    value.type = v->type()->str();
    if (const auto tensor = v->type()->cast<c10::TensorType>()) {
      const auto sizes = tensor->sizes().concrete_sizes();
      if (sizes && tensor->scalarType()) {
        value.sizes = *sizes;
        value.dtype = *tensor->scalarType();
      }
    }
    g.values.push_back(std::move(value));
    ids[v] = static_cast<int64_t>(g.values.size()) - 1;
    return ids[v];
  };
  auto id_of = [&](const torch::jit::Value* v) {
    const auto it = ids.find(v);
    if (it == ids.end()) throw Error("engine: the traced graph uses a value before it is made (" + v->debugName() + ")");
    return it->second;
  };
  for (const torch::jit::Value* input : jit_graph.inputs()) g.inputs.push_back(add_value(input));

  for (const torch::jit::Node* node : jit_graph.nodes()) {
    if (node->kind() == c10::prim::Constant) {
      const c10::optional<c10::IValue> v = torch::jit::toIValue(node->output());
      if (!v) throw Error("engine: a traced constant of type " + node->output()->type()->str() + " has no value");
      ids[node->output()] = g.add_constant(*v, node->output()->type()->str());
      continue;
    }
    if (!node->blocks().empty())
      throw Error("engine: the traced graph has control flow (" + std::string(node->kind().toQualString()) + ")");
    Node n;
    n.kind = node->kind().toQualString();
    for (const torch::jit::Value* in : node->inputs()) n.inputs.push_back(id_of(in));
    for (const torch::jit::Value* out : node->outputs()) n.outputs.push_back(add_value(out));
    try {
      n.operation = container_operation(node);
      if (!n.operation) n.operation = node->getOperation();
    } catch (const c10::Error& e) {
      throw Error("engine: no operation for the traced " + n.kind + ": " + e.what_without_backtrace());
    }
    g.nodes.push_back(std::move(n));
  }

  // trace_graph() returns one tuple of the outputs: the graph's outputs are its elements.
  const torch::jit::Value* result = jit_graph.outputs().at(0);
  if (jit_graph.outputs().size() == 1 && result->node()->kind() == c10::prim::TupleConstruct) {
    for (const torch::jit::Value* v : result->node()->inputs()) g.outputs.push_back(id_of(v));
  } else {
    for (const torch::jit::Value* v : jit_graph.outputs()) g.outputs.push_back(id_of(v));
  }
  return g;
}

}  // namespace reskit::engine
