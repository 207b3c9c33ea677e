// seeds/000's stage shapes of mmaction2's ResNet3d-50 on a 1x3x16x320x256
// clip, with and without pool2, as the seed prints them (acceptance data,
// embedded verbatim below).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>
#include <sstream>

#include "test_util.h"

namespace reskit {
namespace {

// The seed's "pooling2=False" and "pooling2=True" tables.
const char* kWithoutPool2 = R"(torch.Size([1, 64, 4, 80, 64])
layer layer1 : output_size torch.Size([1, 256, 4, 80, 64])
layer layer2 : output_size torch.Size([1, 512, 4, 40, 32])
layer layer3 : output_size torch.Size([1, 1024, 4, 20, 16])
layer layer4 : output_size torch.Size([1, 2048, 4, 10, 8]))";
const char* kWithPool2 = R"(torch.Size([1, 64, 4, 80, 64])
layer layer1 : output_size torch.Size([1, 256, 4, 80, 64])
layer layer2 : output_size torch.Size([1, 512, 2, 40, 32])
layer layer3 : output_size torch.Size([1, 1024, 2, 20, 16])
layer layer4 : output_size torch.Size([1, 2048, 2, 10, 8]))";

std::vector<std::vector<int64_t>> sizes_in(const std::string& table) {
  std::vector<std::vector<int64_t>> out;
  const std::regex size(R"(torch\.Size\(\[([0-9, ]+)\]\))");
  for (std::sregex_iterator it(table.begin(), table.end(), size), end; it != end; ++it) {
    std::vector<int64_t> dims;
    std::stringstream in((*it)[1].str());
    for (std::string d; std::getline(in, d, ',');) dims.push_back(std::stoll(d));
    out.push_back(dims);
  }
  return out;
}

// The seed's settings: conv1 5x7x7 stride 2 in time, pool1 stride 2 in time,
// every block inflated 3x1x1.
TEST(Seed000, StageShapesWithAndWithoutPool2) {
  torch::NoGradGuard no_grad;
  const at::Tensor clip = torch::randn({1, 3, 16, 320, 256});
  for (const bool pool2 : {false, true}) {
    const auto seed = sizes_in(pool2 ? kWithPool2 : kWithoutPool2);
    ASSERT_EQ(seed.size(), 5u);
    models::Model net = test::build("resnet3d", {"conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                                                 "out_indices=0,1,2,3", std::string("with_pool2=") + (pool2 ? "true" : "false")});
    net.module->eval();
    const std::vector<at::Tensor> stages = net.forward({clip});
    ASSERT_EQ(stages.size(), 4u);
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(stages[i].sizes(), at::IntArrayRef(seed[i + 1])) << "layer" << i + 1;
    // The seed prints layer1 before pool2; the backbone returns it after
    // (mmaction2 pools, then collects the stage): half the frames.
    std::vector<int64_t> layer1 = seed[1];
    if (pool2) layer1[2] /= 2;
    EXPECT_EQ(stages[0].sizes(), at::IntArrayRef(layer1)) << "layer1";
  }
}

}  // namespace
}  // namespace reskit
