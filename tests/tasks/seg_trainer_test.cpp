// reskit train-seg end to end on data from reskit make-data: a short run
// learns (validation mIoU well above its first epoch's), leaves metrics.csv,
// curves.png and checkpoints Python's torch.load reads; a run stopped
// mid-epoch and resumed ends with exactly the parameters and metrics of one
// that was not stopped; two data-parallel processes on 127.0.0.1 train
// through the command line with rank 0 alone writing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "reskit/io/state_dict.h"
#include "test_util.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/label_image.h"
#include "reskit/tasks/opencv/seg_trainer.h"
#endif

namespace reskit {
namespace {

namespace fs = std::filesystem;
using test::shell_quote;

#ifdef RESKIT_HAVE_OPENCV
// A small EncNet: ResNet-18, a narrow head, on 64 x 64 crops of the scenes.
const char* const kModel = "encnet_r50 --set backbone=resnet18 --set head_channels=64 --set seg_channels=32";

class SegTrainer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new std::string(test::temp_dir("seg_trainer_data") + "/camvid");
    const auto r = test::run_reskit("make-data camvid " + shell_quote(*data_) +
                                    " --images 40 --size 96x72 --seed 5 --test-images 1 --quiet");
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() { delete data_; }
  static std::string train_args(const std::string& out, const std::string& more) {
    return std::string("train-seg ") + kModel + " --data " + shell_quote(*data_) + " --out " + shell_quote(out) +
           " --size 64 --batch-size 4 --workers 1 --quiet " + more;
  }
  static std::string* data_;
};
std::string* SegTrainer::data_ = nullptr;

// metrics.csv as columns by name.
std::map<std::string, std::vector<std::string>> read_metrics(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  std::map<std::string, std::vector<std::string>> columns;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    size_t i = 0;
    for (std::string cell; std::getline(row, cell, ','); ++i) columns[i < names.size() ? names[i] : "?"].push_back(cell);
  }
  return columns;
}

std::map<std::string, at::Tensor> read_weights(const std::string& path) {
  std::map<std::string, at::Tensor> m;
  for (auto& [name, value] : io::read_state_dict(path)) m[name] = value;
  return m;
}

TEST_F(SegTrainer, AShortRunLearnsAndLeavesItsFiles) {
  const std::string out = test::temp_dir("seg_trainer_learns");
  const auto r = test::run_reskit(train_args(out, "--epochs 5 --lr 0.05 --momentum 0.9 --checkpoint-every 2"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* file : {"metrics.csv", "curves.png", "epoch_2.pth", "epoch_4.pth", "final.pth", "train_state.pth"})
    EXPECT_TRUE(fs::exists(fs::path(out) / file)) << file;
  EXPECT_FALSE(fs::exists(fs::path(out) / "epoch_5.pth"));

  const auto metrics = read_metrics(out + "/metrics.csv");
  ASSERT_EQ(metrics.at("val_miou").size(), 5u);
  const double first = std::stod(metrics.at("val_miou").front()), last = std::stod(metrics.at("val_miou").back());
  EXPECT_GT(last, first + 0.1) << "validation mIoU by epoch: first " << first << ", last " << last;
  EXPECT_GT(std::stod(metrics.at("val_pixel_acc").back()), 0.6);
  EXPECT_TRUE(metrics.count("iou_Sky") && metrics.count("iou_Road")) << "per-class IoU named by class_names.txt";

  // The checkpoint is a state dict Python reads, with the model's keys.
  const auto py = test::run_python("import torch\nsd = torch.load(" + shell_quote(out + "/final.pth") +
                                   ")\nprint(len(sd), 'decoder.enc_module.encoding.0.codewords' in sd)");
  ASSERT_EQ(py.status, 0) << py.err;
  EXPECT_NE(py.out.find("True"), std::string::npos) << py.out;
}

TEST_F(SegTrainer, AResumedRunEndsAsOneThatWasNotStopped) {
  const std::string whole = test::temp_dir("seg_trainer_whole"), parts = test::temp_dir("seg_trainer_parts");
  const std::string recipe = "--epochs 2 --lr 0.02 --momentum 0.9 --weight-decay 1e-4 --step-size 1 --gamma 0.5";
  ASSERT_EQ(test::run_reskit(train_args(whole, recipe)).status, 0);

  // Stopped twice: mid-epoch (step 3 of 7), then after the first epoch's end.
  auto r = test::run_reskit(train_args(parts, recipe + " --stop-after-steps 3"));
  ASSERT_EQ(r.status, 130) << r.err;
  EXPECT_FALSE(fs::exists(fs::path(parts) / "final.pth"));
  r = test::run_reskit("train-seg --resume " + shell_quote(parts) + " --quiet --workers 1 --stop-after-steps 5");
  ASSERT_EQ(r.status, 130) << r.err;
  r = test::run_reskit("train-seg --resume " + shell_quote(parts + "/train_state.pth") + " --quiet --workers 1");
  ASSERT_EQ(r.status, 0) << r.err;

  const auto a = read_weights(whole + "/final.pth"), b = read_weights(parts + "/final.pth");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, value] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(at::equal(value, b.at(name))) << name << ": max diff "
                                              << (value.to(at::kDouble) - b.at(name).to(at::kDouble)).abs().max().item<double>();
  }
  const auto ma = read_metrics(whole + "/metrics.csv"), mb = read_metrics(parts + "/metrics.csv");
  for (const char* column : {"epoch", "train_loss", "train_pixel_acc", "val_pixel_acc", "val_miou", "lr"})
    EXPECT_EQ(ma.at(column), mb.at(column)) << column;
}

TEST_F(SegTrainer, LabelsBeyondTheModelsClassesAreIgnored) {
  // The scenes hold CamVid classes up to 30; a 5-class model trains on them.
  const std::string out = test::temp_dir("seg_trainer_classes");
  const auto r = test::run_reskit(train_args(out, "--epochs 1 --set num_classes=5"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(read_metrics(out + "/metrics.csv").count("iou_Bicyclist"));
}

TEST_F(SegTrainer, BadRequestsAreOneLineErrors) {
  const std::string out = test::temp_dir("seg_trainer_bad");
  for (const std::string& more : {std::string("--size 60"), std::string("--epochs 0"), std::string("--lr nan"),
                                  std::string("--batch-size 1000"), std::string("--world-size 2 --rank 2")}) {
    const auto r = test::run_reskit(train_args(out, more));
    EXPECT_NE(r.status, 0) << more;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << more << ": " << r.err;
    EXPECT_FALSE(fs::exists(fs::path(out) / "train_state.pth")) << more;
  }
  const auto r = test::run_reskit("train-seg --resume " + shell_quote(out + "/nothing") + " --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  // A second run into a folder that holds one must not overwrite it.
  const std::string run = test::temp_dir("seg_trainer_twice");
  ASSERT_EQ(test::run_reskit(train_args(run, "--epochs 1 --stop-after-steps 1")).status, 130);
  const auto again = test::run_reskit(train_args(run, "--epochs 1"));
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
}

// Two processes through the command line, as torchrun would start them
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): both finish, rank 0 writes
// the run's files and rank 1 none. (tasks/distributed_test checks the
// arithmetic against one process.)
TEST_F(SegTrainer, TwoProcessesTrainTogether) {
  const std::string out0 = test::temp_dir("seg_trainer_rank0"), out1 = test::temp_dir("seg_trainer_rank1");
  const int port = 29700 + static_cast<int>(::getpid() % 200);
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 ";
  const std::string bin = shell_quote(RESKIT_BINARY);
  const auto r = test::run_shell("(" + env + "RANK=1 " + bin + " " + train_args(out1, "--epochs 1 --sync-bn") + " 2>" +
                                 shell_quote(out1 + "/err") + " & " + env + "RANK=0 " + bin + " " +
                                 train_args(out0, "--epochs 1 --sync-bn") + " >/dev/null; s0=$?; wait $!; echo $s0 $?)");
  EXPECT_EQ(r.out, "0 0\n") << r.err << test::read_text(out1 + "/err");
  EXPECT_TRUE(fs::exists(fs::path(out0) / "final.pth"));
  EXPECT_TRUE(fs::exists(fs::path(out0) / "metrics.csv"));
  EXPECT_FALSE(fs::exists(fs::path(out1) / "final.pth"));
  EXPECT_FALSE(fs::exists(fs::path(out1) / "metrics.csv"));
}

// reskit segment --engine fast: the masks of eager's, but for pixels where
// two classes' logits tie to float rounding (at most 1 in 1000).
TEST_F(SegTrainer, SegmentOnTheFastEngineGivesEagersMasks) {
  const std::string out = test::temp_dir("seg_fast");
  const std::string image = *data_ + "/test_images/street_0000.png";
  for (const char* engine : {"eager", "fast"}) {
    const auto r = test::run_reskit(std::string("segment ") + kModel + " --seed 3 --size 64 --quiet --engine " + engine +
                                    " --out " + shell_quote(out + "/" + engine) + " " + shell_quote(image));
    ASSERT_EQ(r.status, 0) << engine << ": " << r.err;
  }
  const at::Tensor eager = io::read_label_image(out + "/eager/street_0000_mask.png");
  const at::Tensor fast = io::read_label_image(out + "/fast/street_0000_mask.png");
  ASSERT_EQ(eager.sizes(), fast.sizes());
  EXPECT_GE(eager.eq(fast).to(at::kDouble).mean().item<double>(), 0.999);
}

// --backbone-weights: a torchvision ResNet-18 state dict (no "backbone."
// prefix) loads into backbone.* by name, and the report says so; a key the
// backbone lacks is listed as skipped.
TEST(SegBackboneWeights, TorchvisionKeysLoadUnderTheBackbonePrefix) {
  const std::string dir = test::temp_dir("seg_backbone_weights");
  const std::string file = dir + "/resnet18.pth";
  const auto py = test::run_python("import torch, torchvision\ntorch.manual_seed(3)\n"
                                   "sd = torchvision.models.resnet18().state_dict()\nsd['extra.weight'] = torch.ones(2)\n"
                                   "torch.save(sd, " + shell_quote(file) + ")\nprint(len(sd))");
  ASSERT_EQ(py.status, 0) << py.err;
  models::Model model = test::build("encnet_r50", {"backbone=resnet18", "head_channels=16", "seg_channels=8"});
  const auto lines = tasks::load_backbone_weights(model, file);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("loaded " + std::to_string(std::stoi(py.out) - 1) + " tensors"), std::string::npos) << lines[0];
  bool skipped = false;
  for (const auto& line : lines) skipped |= line.find("skipped (not in the model): extra.weight") != std::string::npos;
  EXPECT_TRUE(skipped);
  std::map<std::string, at::Tensor> expected;
  for (auto& [name, value] : io::read_state_dict(file)) expected[name] = value;
  for (const auto& p : model.module->named_parameters())
    if (p.key().rfind("backbone.", 0) == 0) EXPECT_TRUE(at::equal(p.value(), expected.at(p.key().substr(9)))) << p.key();
}

// reskit demo (the README's main job), small: the data, the run's curves and
// the test scenes' overlays; a second demo replaces the first; a folder that
// is not a demo's is refused.
TEST(SegDemo, TrainsAndSegmentsIntoItsFolder) {
  const std::string out = test::temp_dir("seg_demo") + "/demo";
  const std::string args = "demo --out " + shell_quote(out) + " --epochs 1 --images 12 --size 64 --quiet";
  for (int run = 0; run < 2; ++run) {
    const auto r = test::run_reskit(args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("curves.png"), std::string::npos) << r.out;
  }
  EXPECT_TRUE(fs::exists(fs::path(out) / "run" / "curves.png"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "run" / "final.pth"));
  int overlays = 0;
  for (const auto& e : fs::directory_iterator(fs::path(out) / "segment"))
    overlays += e.path().string().find("_overlay.png") != std::string::npos;
  EXPECT_EQ(overlays, 2);
  const std::string other = test::temp_dir("seg_demo_other");
  std::ofstream(other + "/mine.txt") << "keep\n";
  const auto r = test::run_reskit("demo --out " + shell_quote(other) + " --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(fs::exists(other + "/mine.txt"));
}
#endif

}  // namespace
}  // namespace reskit
