#include "reskit/layers/sequential.h"

#include "reskit/core/module_call.h"

namespace reskit::layers {

at::Tensor call_any(torch::nn::AnyModule& module, at::Tensor x) {
  CallObserver* observer = active_call_observer();
  if (!observer) return module.forward<at::Tensor>(x);
  std::shared_ptr<torch::nn::Module> ptr = module.ptr();
  observer->enter(*ptr, {x});
  x = module.forward<at::Tensor>(x);
  observer->leave(*ptr, {x});
  return x;
}

at::Tensor SequentialImpl::forward(at::Tensor x) {
  for (auto& item : items_) x = call_any(item, x);
  return x;
}

}  // namespace reskit::layers
