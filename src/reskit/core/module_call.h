#pragma once
// LibTorch modules have no forward hooks. reskit's containers and blocks
// call their children through reskit::call(), which reports each call to
// the thread's CallObserver when one is installed (the summary installs
// one). With no observer the cost is one thread-local load.
#include <torch/nn/module.h>

#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace reskit {

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void enter(const torch::nn::Module& module, const std::vector<at::Tensor>& inputs) = 0;
  virtual void leave(const torch::nn::Module& module, const std::vector<at::Tensor>& outputs) = 0;
};

CallObserver*& active_call_observer();

// Installs an observer for the current thread for the lifetime of the scope.
class ObserveCalls {
 public:
  explicit ObserveCalls(CallObserver* observer) : previous_(active_call_observer()) {
    active_call_observer() = observer;
  }
  ~ObserveCalls() { active_call_observer() = previous_; }
  ObserveCalls(const ObserveCalls&) = delete;
  ObserveCalls& operator=(const ObserveCalls&) = delete;

 private:
  CallObserver* previous_;
};

// Flattens whatever a forward takes or returns into its tensors, depth-first.
inline void collect_tensors(const at::Tensor& t, std::vector<at::Tensor>& out) { out.push_back(t); }
inline void collect_tensors(const std::vector<at::Tensor>& ts, std::vector<at::Tensor>& out) {
  out.insert(out.end(), ts.begin(), ts.end());
}
template <typename T>
std::enable_if_t<std::is_arithmetic_v<T>> collect_tensors(const T&, std::vector<at::Tensor>&) {}
template <typename A, typename B>
void collect_tensors(const std::pair<A, B>& pair, std::vector<at::Tensor>& out) {
  collect_tensors(pair.first, out);
  collect_tensors(pair.second, out);
}
template <typename... Ts>
void collect_tensors(const std::tuple<Ts...>& tuple, std::vector<at::Tensor>& out) {
  std::apply([&](const auto&... items) { (collect_tensors(items, out), ...); }, tuple);
}

template <typename Holder, typename... Args>
decltype(auto) call(Holder& module, Args&&... args) {
  CallObserver* observer = active_call_observer();
  if (!observer) return module->forward(std::forward<Args>(args)...);
  std::vector<at::Tensor> inputs;
  (collect_tensors(args, inputs), ...);
  observer->enter(*module, inputs);
  auto result = module->forward(std::forward<Args>(args)...);
  std::vector<at::Tensor> outputs;
  collect_tensors(result, outputs);
  observer->leave(*module, outputs);
  return result;
}

// The same for another method than forward, reported as a call of the
// module (seeds/004's backbone is a ResNet whose forward returns its stages).
template <typename Holder, typename Method, typename... Args>
decltype(auto) call_method(Holder& module, Method method, Args&&... args) {
  CallObserver* observer = active_call_observer();
  if (!observer) return ((*module).*method)(std::forward<Args>(args)...);
  std::vector<at::Tensor> inputs;
  (collect_tensors(args, inputs), ...);
  observer->enter(*module, inputs);
  auto result = ((*module).*method)(std::forward<Args>(args)...);
  std::vector<at::Tensor> outputs;
  collect_tensors(result, outputs);
  observer->leave(*module, outputs);
  return result;
}

}  // namespace reskit
