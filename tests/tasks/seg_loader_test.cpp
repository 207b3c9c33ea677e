// The segmentation batch loader (tasks/opencv/seg_loader.h) against seeds/
// 004's CamVidDataset pipeline as tests/reference/make_seg_data.py computes
// it (PIL, cv2.resize, albumentations' Normalize): validation batches equal
// it; training's are it, flipped as seg_flips says, image and label
// together; batches do not depend on the workers or on a resume; ranks get
// equal shards; bad files are one-line errors naming them.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/tasks/opencv/seg_loader.h"
#include "reskit/tasks/seg_data.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

std::string data_dir() { return test::fixture("seg_data/camvid"); }

struct Expected {
  std::vector<at::Tensor> images, labels;  // 3 x S x S float, S x S int64
  int64_t size = 0;
};

const Expected& expected() {
  static const Expected e = [] {
    Expected r;
    const nlohmann::json j = test::read_json(test::fixture("seg_data/loader/expected.json"));
    r.size = j["size"].get<int64_t>();
    for (const auto& s : j["samples"]) {
      r.images.push_back(io::read_npy(test::fixture("seg_data/loader/" + s["image_npy"].get<std::string>())));
      r.labels.push_back(io::read_npy(test::fixture("seg_data/loader/" + s["label_npy"].get<std::string>())).to(at::kLong));
    }
    return r;
  }();
  return e;
}

tasks::SegLoaderOptions options(bool train, int64_t batch, int64_t workers) {
  tasks::SegLoaderOptions o;
  o.train = train;
  o.batch_size = batch;
  o.workers = workers;
  o.size = expected().size;
  o.seed = 23;
  return o;
}

std::vector<tasks::SegBatch> epoch(tasks::SegLoader& loader, int64_t e, int64_t first = 0) {
  loader.start_epoch(e, first);
  std::vector<tasks::SegBatch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

void expect_same(const std::vector<tasks::SegBatch>& a, const std::vector<tasks::SegBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices) << i;
    EXPECT_TRUE(a[i].images.equal(b[i].images)) << i;
    EXPECT_TRUE(a[i].labels.equal(b[i].labels)) << i;
  }
}

at::Tensor flipped(const at::Tensor& t, tasks::SegFlips f) {
  const int64_t w = t.dim() - 1, h = t.dim() - 2;
  at::Tensor r = t;
  if (f.horizontal) r = r.flip({w});
  if (f.vertical) r = r.flip({h});
  return r;
}

TEST(SegLoader, ValidationBatchesAreTheSeedsPipeline) {
  const std::vector<tasks::SegSample> samples = tasks::read_seg_split(data_dir(), "valid");
  ASSERT_EQ(samples.size(), expected().images.size());
  tasks::SegLoader loader(samples, options(false, 4, 2));
  EXPECT_EQ(loader.batches_per_epoch(), 2);  // 6 samples: 4 + the last 2, kept
  EXPECT_EQ(loader.samples_per_epoch(), 6);
  const std::vector<tasks::SegBatch> batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].images.size(0), 2);
  int64_t next = 0;
  for (const tasks::SegBatch& b : batches) {
    ASSERT_EQ(b.labels.scalar_type(), at::kLong);
    for (int64_t i = 0; i < b.images.size(0); ++i, ++next) {
      ASSERT_EQ(b.indices[i], next);
      EXPECT_TRUE(test::close(b.images[i], expected().images[next], 1e-6)) << next;
      EXPECT_TRUE(b.labels[i].equal(expected().labels[next])) << next;
    }
  }
  EXPECT_TRUE(test::close(tasks::seg_input_tensor(samples[3].image, expected().size)[0], expected().images[3], 1e-6));
  // Labels hold the ignore label where the file does.
  EXPECT_GT((expected().labels[0] == tasks::kIgnoreLabel).sum().item<int64_t>(), 0);
}

TEST(SegLoader, TrainingFlipsImageAndLabelTogether) {
  const std::vector<tasks::SegSample> samples = tasks::read_seg_split(data_dir(), "train");
  tasks::SegLoader loader(samples, options(true, 2, 1));
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::set<std::pair<bool, bool>> seen;
  for (int64_t e = 0; e < 3; ++e) {
    const std::vector<tasks::SegBatch> batches = epoch(loader, e);
    std::vector<int64_t> order;
    for (const tasks::SegBatch& b : batches)
      for (int64_t i = 0; i < b.images.size(0); ++i) {
        const int64_t k = b.indices[i];
        order.push_back(k);
        const tasks::SegFlips f = tasks::seg_flips(23, e, k);
        seen.insert({f.horizontal, f.vertical});
        EXPECT_TRUE(test::close(b.images[i], flipped(expected().images[k], f), 1e-6)) << e << " " << k;
        EXPECT_TRUE(b.labels[i].equal(flipped(expected().labels[k], f))) << e << " " << k;
        // Whatever seg_flips says, image and label agree on one flip.
        int matches = 0;
        for (bool h : {false, true})
          for (bool v : {false, true}) {
            const bool image = flipped(expected().images[k], {h, v}).allclose(b.images[i], 0, 1e-5);
            const bool label = flipped(expected().labels[k], {h, v}).equal(b.labels[i]);
            EXPECT_EQ(image, label) << e << " " << k << " " << h << v;
            matches += image && label;
          }
        EXPECT_GE(matches, 1);
      }
    EXPECT_EQ(order, tasks::seg_epoch_order(6, 23, e));
  }
  EXPECT_EQ(seen.size(), 4u) << "every combination of flips happens over 3 epochs of 6 images";
  EXPECT_NE(tasks::seg_epoch_order(6, 23, 0), tasks::seg_epoch_order(6, 23, 1));
}

TEST(SegLoader, BatchesDoNotDependOnWorkersOrResume) {
  const std::vector<tasks::SegSample> samples = tasks::read_seg_split(data_dir(), "train");
  tasks::SegLoader serial(samples, options(true, 2, 0));
  tasks::SegLoader threaded(samples, options(true, 2, 3));
  const std::vector<tasks::SegBatch> reference = epoch(serial, 4);
  expect_same(epoch(threaded, 4), reference);
  // Resumed at batch 1 of epoch 4, after another epoch was started and left.
  threaded.start_epoch(2);
  ASSERT_TRUE(threaded.next().has_value());
  const std::vector<tasks::SegBatch> resumed = epoch(threaded, 4, 1);
  expect_same(resumed, {reference.begin() + 1, reference.end()});
  EXPECT_TRUE(epoch(threaded, 4, 3).empty());
  EXPECT_EQ(test::error_of([&] { threaded.start_epoch(4, 4); }), "batch 4 is outside the epoch's 3");
}

TEST(SegLoader, RanksGetEqualShards) {
  const int64_t n = 10, world = 4;
  const std::vector<int64_t> order = tasks::seg_epoch_order(n, 7, 3);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i);
  std::multiset<int64_t> train_union;
  std::vector<int64_t> valid_union;
  for (int64_t rank = 0; rank < world; ++rank) {
    tasks::SegLoaderOptions o;
    o.seed = 7;
    o.rank = rank;
    o.world_size = world;
    o.train = true;
    const std::vector<int64_t> mine = tasks::seg_rank_order(n, o, 3);
    EXPECT_EQ(mine.size(), 3u);  // ceil(10 / 4), the order padded with its first two
    for (size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i], order[(rank + i * world) % n]);
    train_union.insert(mine.begin(), mine.end());
    o.train = false;
    const std::vector<int64_t> valid = tasks::seg_rank_order(n, o, 3);
    valid_union.insert(valid_union.end(), valid.begin(), valid.end());
  }
  EXPECT_EQ(train_union.size(), 12u);
  EXPECT_EQ(train_union.count(order[0]), 2u);
  EXPECT_EQ(train_union.count(order[1]), 2u);
  std::sort(valid_union.begin(), valid_union.end());
  EXPECT_EQ(valid_union, sorted);  // validation: each sample once over the ranks

  // Through the loader: every rank has as many batches.
  const std::vector<tasks::SegSample> samples = tasks::read_seg_split(data_dir(), "train");  // 6
  for (int64_t rank = 0; rank < 4; ++rank) {
    tasks::SegLoaderOptions o = options(true, 1, 0);
    o.rank = rank;
    o.world_size = 4;
    tasks::SegLoader loader(samples, o);
    EXPECT_EQ(loader.batches_per_epoch(), 2) << rank;
    EXPECT_EQ(epoch(loader, 0).size(), 2u) << rank;
  }
}

TEST(SegLoader, BadInputIsOneLineNamingTheFile) {
  const std::string d = test::temp_dir("seg_loader_bad");
  std::vector<tasks::SegSample> samples = tasks::read_seg_split(data_dir(), "valid");
  EXPECT_EQ(test::error_of([&] { tasks::SegLoader(samples, options(true, 7, 0)); }),
            "training needs a full batch on each rank: 6 images, batch size 7, world size 1");
  tasks::SegLoaderOptions odd = options(false, 2, 0);
  odd.size = 20;
  EXPECT_EQ(test::error_of([&] { tasks::SegLoader(samples, odd); }),
            "the input size must be a multiple of 8 from 8 to 4096, got 20");
  tasks::SegLoaderOptions rank = options(false, 2, 0);
  rank.rank = 2;
  rank.world_size = 2;
  EXPECT_EQ(test::error_of([&] { tasks::SegLoader(samples, rank); }), "rank 2 of world size 2 is not a rank");
  EXPECT_EQ(test::error_of([&] { tasks::SegLoader({}, options(false, 2, 0)); }), "the loader has no samples");

  std::ofstream(d + "/broken.png") << "not a png";
  samples[3].image = d + "/broken.png";
  tasks::SegLoader loader(samples, options(false, 2, 2));
  loader.start_epoch(0);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_EQ(test::error_of([&] { loader.next(); }), "image '" + d + "/broken.png' cannot be decoded");
  EXPECT_TRUE(loader.next().has_value());  // the next batch is still there

  samples[3] = samples[0];
  samples[3].label = tasks::read_seg_split(data_dir(), "valid")[1].label;  // another size
  tasks::SegLoader mismatch(samples, options(false, 2, 0));
  mismatch.start_epoch(0, 1);
  const std::string e = test::error_of([&] { mismatch.next(); });
  EXPECT_EQ(e.rfind("label '" + samples[3].label + "' is ", 0), 0u) << e;
  EXPECT_NE(e.find(" but its image '" + samples[3].image + "' is "), std::string::npos) << e;
}

}  // namespace
}  // namespace reskit
