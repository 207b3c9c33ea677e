#include "reskit/tasks/opencv/seg_trainer.h"

#include <torch/optim/schedulers/step_lr.h>
#include <torch/optim/sgd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "reskit/core/error.h"
#include "reskit/core/interrupt.h"
#include "reskit/core/options_json.h"
#include "reskit/core/progress.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/opencv/seg_render.h"
#include "reskit/io/state_dict.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/distributed.h"
#include "reskit/tasks/opencv/seg_loader.h"
#include "reskit/tasks/opencv/segmenter.h"
#include "reskit/tasks/seg_data.h"
#include "reskit/tasks/seg_metrics.h"
#include "reskit/tasks/seg_step.h"
#include "reskit/tasks/train_state.h"

namespace reskit::tasks {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[256];
  std::snprintf(text, sizeof(text), pattern, a, b, c, d);
  return text;
}

void check_settings(const SegTrainSettings& s) {
  auto positive = [](const char* flag, int64_t v) {
    if (v < 1) throw Error(std::string("train-seg: ") + flag + " must be positive, got " + std::to_string(v));
  };
  positive("--epochs", s.epochs);
  positive("--batch-size", s.batch_size);
  positive("--size", s.size);
  positive("--step-size", s.step_size);
  positive("--checkpoint-every", s.checkpoint_every);
  positive("--workers", s.workers);
  if (s.size % 8 != 0) throw Error("train-seg: --size must be a multiple of 8, got " + std::to_string(s.size));
  auto finite = [](const char* flag, double v, bool allow_zero) {
    if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0))
      throw Error(std::string("train-seg: ") + flag + " must be a finite" + (allow_zero ? " non-negative" : " positive") +
                  " number");
  };
  finite("--lr", s.lr, false);
  finite("--momentum", s.momentum, true);
  finite("--weight-decay", s.weight_decay, true);
  finite("--gamma", s.gamma, false);
  finite("--se-weight", s.se_weight, true);
}

// One process's sum over the group (a no-op alone).
void sum_over_ranks(DataParallel* parallel, const at::Tensor& tensor) {
  if (parallel && parallel->active()) parallel->all_reduce_sum(tensor);
}

// Validation as the seed's evaluate_accuracy_gpu, made exact: eval mode, no
// grad, every image once, in order; each rank scores its shard and the
// confusion matrices are summed.
ConfusionMatrix validate(models::Model& model, SegLoader& loader, int64_t num_classes, bool show,
                         const std::string& label, DataParallel* parallel) {
  Progress progress(label, loader.batches_per_epoch(), progress_style(!show));
  SegEvaluation evaluation = evaluate_segmentation(model, at::kCPU, loader, num_classes, &progress);
  progress.finish();
  at::Tensor counts = evaluation.confusion.counts();
  sum_over_ranks(parallel, counts);
  evaluation.confusion.set_counts(counts);
  return evaluation.confusion;
}

// metrics.csv and curves.png after an epoch (rank 0 only).
void write_epoch_outputs(const std::string& run_dir, const std::string& metrics_path,
                         const std::vector<EpochMetrics>& rows, int64_t num_classes,
                         const std::vector<std::string>& class_names, std::vector<std::string>& iou_names) {
  if (iou_names.empty()) iou_names = iou_columns(num_classes, class_names);
  write_metrics_csv(metrics_path, rows, iou_names);
  io::TrainingCurves curves;
  for (const auto& r : rows) {
    curves.epoch.push_back(static_cast<double>(r.epoch));
    curves.train_loss.push_back(r.train_loss);
    curves.train_pixel_acc.push_back(r.train_pixel_acc);
    curves.val_pixel_acc.push_back(r.val_pixel_acc);
    curves.val_miou.push_back(r.val_miou);
  }
  io::write_training_curves((fs::path(run_dir) / "curves.png").string(), curves);
}

// The class count of a segmentation model, from its options (every rank
// knows it before its first batch).
int64_t model_classes(const models::Model& model) {
  const auto options = nlohmann::json::parse(options_to_json(model.options));
  if (!options.contains("num_classes") || !options["num_classes"].is_number_integer())
    throw Error("train-seg: " + model.name + " has no num_classes option, so it is not a segmentation model");
  return options["num_classes"].get<int64_t>();
}

std::string state_path_in(const std::string& run_dir) { return (fs::path(run_dir) / "train_state.pth").string(); }

}  // namespace

std::string settings_to_json(const SegTrainSettings& s) {
  return nlohmann::json{{"data", s.data},
                        {"colours", s.colours},
                        {"epochs", s.epochs},
                        {"batch_size", s.batch_size},
                        {"size", s.size},
                        {"lr", s.lr},
                        {"momentum", s.momentum},
                        {"weight_decay", s.weight_decay},
                        {"step_size", s.step_size},
                        {"gamma", s.gamma},
                        {"se_weight", s.se_weight},
                        {"se_loss", s.se_loss == SeLoss::kMse ? "mse" : "bce"},
                        {"checkpoint_every", s.checkpoint_every},
                        {"seed", s.seed}}
      .dump();
}

SegTrainSettings settings_from_json(const std::string& json, const SegTrainSettings& current) {
  SegTrainSettings s = current;
  try {
    const auto j = nlohmann::json::parse(json);
    s.data = j.at("data").get<std::string>();
    s.colours = j.at("colours").get<std::string>();
    s.epochs = j.at("epochs").get<int64_t>();
    s.batch_size = j.at("batch_size").get<int64_t>();
    s.size = j.at("size").get<int64_t>();
    s.lr = j.at("lr").get<double>();
    s.momentum = j.at("momentum").get<double>();
    s.weight_decay = j.at("weight_decay").get<double>();
    s.step_size = j.at("step_size").get<int64_t>();
    s.gamma = j.at("gamma").get<double>();
    s.se_weight = j.at("se_weight").get<double>();
    s.se_loss = j.at("se_loss").get<std::string>() == "bce" ? SeLoss::kBce : SeLoss::kMse;
    s.checkpoint_every = j.at("checkpoint_every").get<int64_t>();
    s.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("--resume: bad settings in the training state: ") + e.what());
  }
  if (current.data.size() && current.data != s.data) s.data = current.data;  // the data may have moved
  return s;
}

std::vector<std::string> load_backbone_weights(models::Model& model, const std::string& path) {
  io::StateDict prefixed;
  for (auto& [key, value] : io::read_state_dict(path)) prefixed.emplace_back("backbone." + key, value);
  // Only the backbone's keys count as missing: the head is not in an ImageNet checkpoint.
  const io::LoadReport report = io::load_state_dict(*model.module, prefixed, /*strict=*/false, path);
  std::vector<std::string> lines;
  int64_t missing_backbone = 0;
  for (const auto& key : report.missing) missing_backbone += key.rfind("backbone.", 0) == 0;
  lines.push_back("--backbone-weights " + path + ": loaded " + std::to_string(report.loaded.size()) + " tensors into backbone.*");
  for (const auto& key : report.unexpected) lines.push_back("  skipped (not in the model): " + key.substr(9));
  for (const auto& m : report.mismatched) lines.push_back("  skipped (shape): " + m);
  if (missing_backbone)
    lines.push_back("  " + std::to_string(missing_backbone) + " backbone tensors not in the file keep their initialisation");
  return lines;
}

SegTrainResult train_segmentation(models::Model& model, const SegTrainSettings& settings, const std::string& run_dir,
                                  const std::string& resume, DataParallel* parallel) {
  check_settings(settings);
  const bool distributed = parallel && parallel->active();
  const bool main_rank = !parallel || parallel->is_main();
  const bool show = main_rank && !settings.quiet;
  const SegDataset data = read_seg_dataset(settings.data, settings.colours);
  SegTrainResult result;
  result.state_path = state_path_in(run_dir);
  if (main_rank) {
    fs::create_directories(run_dir);
    if (resume.empty() && fs::exists(result.state_path))
      throw Error("train-seg: " + run_dir + " holds a run already (train_state.pth): --resume it or choose another --out");
  }

  SegLoaderOptions train_options;
  train_options.batch_size = settings.batch_size;
  train_options.size = settings.size;
  train_options.seed = settings.seed;
  train_options.workers = settings.workers;
  train_options.colours = data.colours;
  if (parallel) train_options.rank = parallel->rank(), train_options.world_size = parallel->world_size();
  SegLoaderOptions valid_options = train_options;
  valid_options.train = false;
  const int64_t world = train_options.world_size;
  if (static_cast<int64_t>(data.valid.size()) < world)
    throw Error("train-seg: " + std::to_string(data.valid.size()) + " validation images cannot be shared by " +
                std::to_string(world) + " processes");
  SegLoader train_loader(data.train, train_options);
  SegLoader valid_loader(data.valid, valid_options);
  if (train_loader.batches_per_epoch() == 0)
    throw Error("train-seg: " + std::to_string(data.train.size()) + " training images make no batch of " +
                std::to_string(settings.batch_size) + (world > 1 ? " per process" : "") +
                " (the last incomplete batch is dropped)");

  model.module->train();
  torch::optim::SGD optimizer(model.module->parameters(), torch::optim::SGDOptions(settings.lr)
                                                              .momentum(settings.momentum)
                                                              .weight_decay(settings.weight_decay));
  TrainProgress at;
  const std::string metrics_path = (fs::path(run_dir) / "metrics.csv").string();
  if (!resume.empty()) {
    restore_train_state(resume, model, optimizer);
    at = read_train_state(resume).progress;
    if (main_rank && fs::exists(metrics_path)) result.rows = read_metrics_csv(metrics_path).rows;
    while (!result.rows.empty() && result.rows.back().epoch > at.epoch) result.rows.pop_back();
  }
  // DDP's construction: every replica starts from rank 0's weights and buffers.
  if (distributed) parallel->broadcast_parameters_and_buffers(*model.module);
  torch::optim::StepLR scheduler(optimizer, settings.step_size, settings.gamma);
  for (int64_t e = 0; e < at.epoch; ++e) scheduler.step();

  const int64_t batches = train_loader.batches_per_epoch();
  if (at.batch > batches) throw Error("--resume: the state is at batch " + std::to_string(at.batch) + " of an epoch of " +
                                      std::to_string(batches));
  const std::vector<at::Tensor> parameters = model.module->parameters();
  const int64_t num_classes = model_classes(model);
  InterruptScope interrupt;
  int64_t steps_this_run = 0;
  ConfusionMatrix train_confusion(num_classes);
  std::vector<std::string> iou_names;

  auto save_state = [&](const TrainProgress& p) {
    if (!main_rank) return;
    TrainState state{model.name, options_to_json(model.options), settings_to_json(settings), p};
    save_train_state(result.state_path, model, optimizer, state);
  };
  // Whether any rank was asked to stop (Ctrl-C reaches one process, or all):
  // the ranks decide together, so that none waits in a collective for one that left.
  auto stop_requested = [&] {
    at::Tensor flag = at::full({1}, InterruptScope::requested() ? 1.0 : 0.0, at::kDouble);
    sum_over_ranks(parallel, flag);
    return flag.item<double>() > 0;
  };

  for (int64_t epoch = at.epoch; epoch < settings.epochs; ++epoch) {
    const double lr = optimizer.param_groups()[0].options().get_lr();
    const bool resumed_here = epoch == at.epoch;
    TrainProgress p = resumed_here ? at : TrainProgress{epoch, 0, 0, 0, 0, at::Tensor()};
    p.epoch = epoch;
    train_confusion = ConfusionMatrix(num_classes);
    if (p.train_counts.defined()) train_confusion.set_counts(p.train_counts);
    // The training state holds the group's totals; each rank resumes its own
    // share at zero and rank 0 adds the saved totals back when it sums.
    if (distributed && !main_rank) p.loss_sum = 0, p.images = 0, train_confusion = ConfusionMatrix(num_classes);
    train_loader.start_epoch(epoch, p.batch);
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(settings.epochs), batches - p.batch,
                      progress_style(!show));
    auto started = Clock::now();
    double seconds_before = p.seconds;
    // This epoch's totals over all ranks: loss sum, images, confusion counts.
    auto group_totals = [&](TrainProgress& q) {
      at::Tensor sums = at::tensor({q.loss_sum, static_cast<double>(q.images)}, at::kDouble);
      sum_over_ranks(parallel, sums);
      q.loss_sum = sums[0].item<double>();
      q.images = static_cast<int64_t>(std::llround(sums[1].item<double>()));
      at::Tensor counts = train_confusion.counts();
      sum_over_ranks(parallel, counts);
      train_confusion.set_counts(counts);
      q.train_counts = counts;
    };
    while (true) {
      if (stop_requested()) {
        p.seconds = seconds_before + seconds_since(started);
        group_totals(p);
        progress.finish();
        save_state(p);
        result.interrupted = true;
        return result;
      }
      auto batch = train_loader.next();
      if (!batch) break;
      const SegStep step = segmentation_step(model, optimizer, parameters, batch->images, batch->labels,
                                             settings.se_weight, settings.se_loss, parallel);
      const int64_t n = batch->images.size(0);
      const double value = step.loss.total.item<double>();
      p.loss_sum += value * n;
      p.images += n;
      p.batch += 1;
      train_confusion.add(step.logits.argmax(1), batch->labels);
      const double elapsed = seconds_before + seconds_since(started);
      progress.step(format("loss %.4f  %.1f img/s", p.loss_sum / p.images, world * p.images / std::max(elapsed, 1e-9)));
      if (settings.stop_after_steps > 0 && ++steps_this_run >= settings.stop_after_steps) InterruptScope::request();
    }
    progress.finish();
    p.seconds = seconds_before + seconds_since(started);
    group_totals(p);

    const ConfusionMatrix val = validate(model, valid_loader, num_classes, show,
                                         "validation " + std::to_string(epoch + 1), parallel);
    EpochMetrics row;
    row.epoch = epoch + 1;
    row.train_loss = p.loss_sum / p.images;
    row.train_pixel_acc = train_confusion.pixel_accuracy();
    row.train_seed_acc = train_confusion.seed_accuracy();
    row.val_pixel_acc = val.pixel_accuracy();
    row.val_seed_acc = val.seed_accuracy();
    row.val_miou = val.mean_iou();
    row.lr = lr;
    row.seconds = p.seconds;
    row.images_per_s = p.images / std::max(p.seconds, 1e-9);
    row.class_iou = val.class_iou();
    result.rows.push_back(row);
    scheduler.step();

    if (main_rank) write_epoch_outputs(run_dir, metrics_path, result.rows, val.num_classes(), data.class_names, iou_names);
    if (show)
      std::fprintf(stderr, "epoch %lld --- loss %.4f --- train acc %.4f --- val acc %.4f --- val mIoU %.4f --- %.1f s\n",
                   static_cast<long long>(epoch + 1), row.train_loss, row.train_pixel_acc, row.val_pixel_acc, row.val_miou,
                   row.seconds);
    if (main_rank && (epoch + 1) % settings.checkpoint_every == 0)
      save_checkpoint((fs::path(run_dir) / ("epoch_" + std::to_string(epoch + 1) + ".pth")).string(), model);
    save_state(TrainProgress{epoch + 1, 0, 0, 0, 0, at::Tensor()});
  }
  result.final_checkpoint = (fs::path(run_dir) / "final.pth").string();
  if (main_rank) save_checkpoint(result.final_checkpoint, model);
  if (distributed) parallel->barrier();  // no rank leaves while another still needs the group
  return result;
}

}  // namespace reskit::tasks
