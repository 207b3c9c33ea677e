#pragma once
// A model's forward (or an entry point's) run eagerly or on the fast engine,
// for the task commands' --engine eager|fast. On the fast engine a plan is
// compiled the first time each set of input shapes comes (a video's last
// batch may be smaller), and kept. Errors are run_forward's one line.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reskit/core/progress.h"
#include "reskit/models/registry.h"

namespace reskit::engine {
class Plan;
class WeightPool;
}

namespace reskit::tasks {

enum class Engine { kEager, kFast };

// "eager" or "fast", else a one-line error naming the command.
Engine parse_engine(const std::string& command, const std::string& text);

class EngineRunner {
 public:
  // `module` is what `forward` runs (switched to eval mode for the fast engine's capture).
  // `weights`: a pool the plans share with other runners' (entry points of one model).
  EngineRunner(std::string name, std::shared_ptr<torch::nn::Module> module, models::Forward forward, Engine engine,
               std::shared_ptr<engine::WeightPool> weights = nullptr);
  // The model's own forward. `take_weights`: the first plan takes the
  // model's weights (engine::CompileOptions), for a run of one input shape
  // that should hold them once; the model cannot run eagerly afterwards.
  EngineRunner(const models::Model& model, Engine engine, bool take_weights = false);
  ~EngineRunner();

  // The fast engine's plans in int8 (engine::CompileOptions::precision),
  // calibrated on `samples`: one tensor per input, samples along dim 0.
  void use_int8(std::vector<at::Tensor> samples, Progress::Style progress = Progress::Style::kQuiet);
  // The fast engine's plans in bf16 (engine::CompileOptions::precision).
  void use_bf16();

  std::vector<at::Tensor> operator()(const std::vector<at::Tensor>& inputs) const;
  Engine engine() const { return engine_; }

 private:
  std::string name_;
  std::shared_ptr<torch::nn::Module> module_;
  models::Forward forward_;
  Engine engine_;
  std::shared_ptr<engine::WeightPool> weights_;
  bool int8_ = false, bf16_ = false;
  std::vector<at::Tensor> calibration_samples_;
  Progress::Style calibration_progress_ = Progress::Style::kQuiet;
  mutable bool take_weights_ = false;  // the next compile takes the weights
  mutable bool weights_taken_ = false;  // a compile took them: no other can run
  mutable std::mutex mutex_;
  mutable std::map<std::vector<std::vector<int64_t>>, std::shared_ptr<const engine::Plan>> plans_;
};

}  // namespace reskit::tasks
