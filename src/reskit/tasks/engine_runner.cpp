#include "reskit/tasks/engine_runner.h"

#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>

#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/engine/plan.h"
#include "reskit/tasks/calibration_sets.h"
#include "reskit/tasks/memory_check.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::tasks {

Engine parse_engine(const std::string& command, const std::string& text) {
  if (text.empty() || text == "eager") return Engine::kEager;
  if (text == "fast") return Engine::kFast;
  throw Error(command + ": --engine must be eager or fast, got '" + text + "'");
}

EngineRunner::EngineRunner(std::string name, std::shared_ptr<torch::nn::Module> module, models::Forward forward,
                           Engine engine, std::shared_ptr<engine::WeightPool> weights)
    : name_(std::move(name)),
      module_(std::move(module)),
      forward_(std::move(forward)),
      engine_(engine),
      weights_(std::move(weights)) {}

EngineRunner::EngineRunner(const models::Model& model, Engine engine, bool take_weights)
    : EngineRunner(model.name, model.module, model.forward, engine) {
  take_weights_ = take_weights;
}

EngineRunner::~EngineRunner() = default;

void EngineRunner::use_int8(std::vector<at::Tensor> samples, Progress::Style progress) {
  if (engine_ != Engine::kFast) throw Error(name_ + ": int8 runs on the fast engine (--engine fast)");
  int8_ = true;
  calibration_samples_ = std::move(samples);
  calibration_progress_ = progress;
}

void EngineRunner::use_bf16() {
  if (engine_ != Engine::kFast) throw Error(name_ + ": bf16 runs on the fast engine (--engine fast)");
  bf16_ = true;
}

std::vector<at::Tensor> EngineRunner::operator()(const std::vector<at::Tensor>& inputs) const {
  std::vector<IntList> sizes;
  for (const at::Tensor& x : inputs) sizes.push_back(x.sizes().vec());
  at::NoGradGuard no_grad;
  try {
    if (engine_ == Engine::kEager) {
      check_forward_memory(name_, *module_, forward_, sizes);
      return forward_(inputs);
    }
    std::shared_ptr<const engine::Plan> plan;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::shared_ptr<const engine::Plan>& slot = plans_[sizes];
      if (!slot) {
        if (weights_taken_)
          throw Error(name_ + ": the fast engine's first plan took the model's weights; it cannot compile for " +
                      sizes_text(sizes));
        check_forward_memory(name_, *module_, forward_, sizes);
        engine::CompileOptions options;
        options.take_weights = take_weights_;
        options.weight_pool = weights_;
        if (int8_) {
          options.precision = engine::Precision::kInt8;
          options.calibration = calibration_sets(name_, calibration_samples_, sizes);
          options.progress = calibration_progress_;
        }
        if (bf16_) options.precision = engine::Precision::kBFloat16;
        weights_taken_ = take_weights_;  // even if this compile fails: the weights may be gone
        slot = std::make_shared<const engine::Plan>(engine::compile(*module_, forward_, inputs, options));
      }
      plan = slot;
    }
    return plan->run(inputs);
  } catch (const c10::Error& e) {
    throw cannot_run(name_, sizes, e);
  }
}

}  // namespace reskit::tasks
