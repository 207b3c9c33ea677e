// 2D-to-3D inflation (models/video/inflate.h) and `reskit inflate`: with
// every temporal kernel of size 1 and no temporal striding, the inflated
// ResNet3d on a clip is the 2D ResNet on each frame.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "reskit/io/checkpoint.h"
#include "reskit/io/state_dict.h"
#include "reskit/layers/resnet.h"
#include "reskit/models/video/inflate.h"
#include "test_util.h"

namespace reskit {
namespace {

// A seeded torchvision resnet with BatchNorm statistics away from 0 / 1.
io::StateDict resnet_2d_weights(const std::string& name, std::shared_ptr<torch::nn::Module>* keep = nullptr) {
  torch::manual_seed(7);
  models::Model m = test::build(name);
  torch::NoGradGuard no_grad;
  for (auto& b : m.module->named_buffers())
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
    else if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  for (auto& p : m.module->named_parameters())
    if (p.key().find("bn") != std::string::npos || p.key().find("downsample.1") != std::string::npos)
      p.value().uniform_(0.5, 1.5);
  if (keep) *keep = m.module;
  return io::state_dict_of(*m.module);
}

TEST(Inflate, FrameByFrameEqualsThe2dNetwork) {
  std::shared_ptr<torch::nn::Module> net_2d;
  const io::StateDict w2d = resnet_2d_weights("resnet50", &net_2d);
  models::Model net_3d = test::build("resnet3d", {"inflate=0", "conv1_kernel=1,7,7", "conv1_stride_t=1",
                                                  "pool1_stride_t=1", "with_pool2=false"});
  const auto report = models::video::inflate_2d_weights(*net_3d.module, w2d);
  EXPECT_TRUE(report.not_inflated.empty()) << report.not_inflated.front();
  EXPECT_EQ(report.unused, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_EQ(report.inflated.size(), w2d.size() - 2);

  net_2d->eval();
  net_3d.module->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor clip = torch::randn({1, 3, 4, 64, 64});
  const at::Tensor ours = net_3d.forward({clip}).at(0);
  auto* resnet = dynamic_cast<layers::ResNetImpl*>(net_2d.get());
  ASSERT_NE(resnet, nullptr);
  std::vector<at::Tensor> frames;
  for (int64_t t = 0; t < clip.size(2); ++t) frames.push_back(resnet->forward_features(clip.select(2, t)).back());
  EXPECT_TRUE(test::close(ours, at::stack(frames, 2), 1e-4));
}

TEST(Inflate, KernelsAreRepeatedAndDividedAndMismatchesListed) {
  const io::StateDict w2d = resnet_2d_weights("resnet50");
  models::Model i3d = test::build("i3d_r50");
  const auto report = models::video::inflate_2d_weights(*i3d.module, w2d);
  const auto state = io::state_dict_of(*i3d.module);
  auto find = [](const io::StateDict& d, const std::string& k) {
    for (const auto& [key, value] : d)
      if (key == k) return value;
    return at::Tensor();
  };
  // conv1 is 5x7x7 in i3d_r50: each of the 5 time slices is the 2D kernel / 5.
  const at::Tensor w3 = find(state, "backbone.conv1.conv.weight"), w2 = find(w2d, "conv1.weight");
  ASSERT_EQ(w3.size(2), 5);
  for (int64_t t = 0; t < 5; ++t) EXPECT_TRUE(at::allclose(w3.select(2, t), w2 / 5));
  EXPECT_TRUE(at::equal(find(state, "backbone.layer1.0.conv1.bn.running_var"), find(w2d, "layer1.0.bn1.running_var")));
  EXPECT_TRUE(at::equal(find(state, "backbone.layer2.0.downsample.bn.weight"), find(w2d, "layer2.0.downsample.1.weight")));

  // A resnet18's basic blocks do not fit a depth-50 network: listed, not loaded.
  models::Model other = test::build("resnet3d");
  const auto mismatch = models::video::inflate_2d_weights(*other.module, resnet_2d_weights("resnet18"));
  EXPECT_FALSE(mismatch.not_inflated.empty());
  EXPECT_FALSE(mismatch.unused.empty());
}

// The module of a tensor name, or of a "name: why" line.
std::set<std::string> modules_of(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (std::string n : names) {
    n = n.substr(0, n.find(':'));
    const std::string last = n.substr(n.rfind('.') + 1);
    if (last != "conv" && last != "bn") n = n.substr(0, n.rfind('.'));
    out.insert(n);
  }
  return out;
}

// Against mmaction2's own inflate_weights (tests/reference/make_inflate.py):
// the same tensors filled with the same values, the same ones left out.
TEST(Inflate, EqualsMmaction2sInflateWeights) {
  const std::string root = test::fixture("inflate");
  const nlohmann::json manifest = test::read_json(root + "/manifest.json");
  ASSERT_GE(manifest.at("cases").size(), 2u);
  for (const auto& id : manifest.at("cases")) {
    const std::string dir = root + "/" + id.get<std::string>();
    const nlohmann::json c = test::read_json(dir + "/case.json");
    models::Model net = test::build("resnet3d", c.at("sets").get<std::vector<std::string>>());
    const auto report = models::video::inflate_2d_weights(
        *net.module, io::read_state_dict(root + "/" + c.at("pretrained").get<std::string>()));
    const auto expected_inflated = c.at("inflated").get<std::vector<std::string>>();
    EXPECT_EQ(std::set<std::string>(report.inflated.begin(), report.inflated.end()),
              std::set<std::string>(expected_inflated.begin(), expected_inflated.end()))
        << id;
    EXPECT_EQ(modules_of(report.not_inflated), modules_of(c.at("not_inflated").get<std::vector<std::string>>())) << id;
    const auto unused = c.at("unused_2d").get<std::vector<std::string>>();
    EXPECT_EQ(std::set<std::string>(report.unused.begin(), report.unused.end()),
              std::set<std::string>(unused.begin(), unused.end()))
        << id;
    std::map<std::string, at::Tensor> ours;
    for (auto& [k, v] : io::state_dict_of(*net.module)) ours[k] = v;
    for (const auto& [k, v] : io::read_state_dict(dir + "/expected.pth"))
      if (std::count(expected_inflated.begin(), expected_inflated.end(), k))
        EXPECT_TRUE(at::equal(ours.at(k), v)) << id << ": " << k;
  }
}

TEST(InflateCli, WritesACheckpointRunAndTorchLoadRead) {
  const std::string d = test::temp_dir("inflate_cli");
  const io::StateDict w2d = resnet_2d_weights("resnet50");
  io::save_state_dict(d + "/r50.pth", w2d);
  const auto r = test::run_reskit("inflate --from " + test::shell_quote(d + "/r50.pth") + " --to " + test::shell_quote(d + "/i3d.pth"));
  ASSERT_EQ(r.status, 0) << r.err;
  // Every tensor of the 2D file but the classifier's two.
  EXPECT_NE(r.out.find("inflated " + std::to_string(w2d.size() - 2) + " tensors of i3d_r50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unused from the 2D file: fc.weight fc.bias"), std::string::npos) << r.out;
  // The sidecar names the model: `reskit print --weights` needs no model name.
  const auto p = test::run_reskit("summary --weights " + test::shell_quote(d + "/i3d.pth") + " --input-size 1x3x8x32x32 --depth 0");
  EXPECT_EQ(p.status, 0) << p.err;
  const auto py = test::run_python("import torch; d = torch.load(" + test::shell_quote(d + "/i3d.pth") +
                                   "); print(len(d), d['backbone.conv1.conv.weight'].shape[2])");
  EXPECT_EQ(py.out, "320 5\n") << py.err;

  // A training checkpoint's layout ({"state_dict": {"module." + name}}) gives the same file.
  const std::string wrapped = test::fixture("inflate/resnet50_2d_wrapped.pth");
  const auto w = test::run_reskit("inflate resnet3d --from " + test::shell_quote(wrapped) + " --to " + test::shell_quote(d + "/w.pth"));
  const auto p2 = test::run_reskit("inflate resnet3d --from " + test::shell_quote(test::fixture("inflate/resnet50_2d.pth")) +
                                   " --to " + test::shell_quote(d + "/p.pth"));
  ASSERT_EQ(w.status, 0) << w.err;
  ASSERT_EQ(p2.status, 0) << p2.err;
  EXPECT_EQ(test::read_text(d + "/w.pth"), test::read_text(d + "/p.pth"));

  const auto bad = test::run_reskit("inflate --from " + test::shell_quote(d + "/missing.pth") + " --to " + test::shell_quote(d + "/x.pth"));
  EXPECT_NE(bad.status, 0);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(d + "/x.pth"));
}

}  // namespace
}  // namespace reskit
