#pragma once
// Batches for segmentation training and validation, as seeds/004's
// CamVidDataset + DataLoader make them: RGB images resized to size x size
// (bilinear), labels resized nearest-neighbour, random horizontal and
// vertical flips (p = 0.5 each, training only), ImageNet normalisation.
// Every random choice comes from (seed, epoch, sample position), never from
// thread timing, so a run, a resumed run and any number of workers give the
// same batches; a distributed rank takes its shard of each epoch's order.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reskit/tasks/seg_data.h"

namespace reskit::tasks {

struct SegLoaderOptions {
  int64_t batch_size = 8;
  int64_t size = 224;  // a multiple of 8
  bool train = true;   // shuffle + flips + drop_last; false: in order, no augmentation, keep the last batch
  uint64_t seed = 17;
  int64_t workers = 2;  // decoding threads; 0: decoded in next(); at most 2 x workers batches ahead
  int64_t rank = 0, world_size = 1;
  ClassColours colours;  // as SegDataset::colours
};

struct SegBatch {
  at::Tensor images;  // N x 3 x size x size float, normalised
  at::Tensor labels;  // N x size x size int64, kIgnoreLabel where ignored
  std::vector<int64_t> indices;  // the samples' positions in the split
};

class SegLoader {
 public:
  SegLoader(std::vector<SegSample> samples, SegLoaderOptions options);
  ~SegLoader();
  int64_t batches_per_epoch() const;   // this rank's
  int64_t samples_per_epoch() const;   // this rank's, after drop_last
  // Starts an epoch at batch `first_batch` (resume mid-epoch).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch, or nullopt at its end. A bad file is a
  // one-line reskit::Error naming it.
  std::optional<SegBatch> next();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One image as validation and `segment` prepare it: RGB, resized, normalised, 1 x 3 x size x size.
at::Tensor seg_input_tensor(const std::string& image_path, int64_t size);

// The loader's random choices, for tests and for a reference to replay.
// Training's order of epoch `epoch`: a Fisher-Yates shuffle of 0..n-1 driven
// by CounterRng{seed, epoch, 1}.
std::vector<int64_t> seg_epoch_order(int64_t n, uint64_t seed, int64_t epoch);
// The flips of split sample `index` in epoch `epoch`: CounterRng{seed,
// epoch, index, 2}'s first draw < 0.5 flips horizontally, its second
// vertically (the order of seeds/004's HorizontalFlip, VerticalFlip). Keyed
// by the sample, not its place in the batch, so sharding and batch size do
// not change a sample's augmentation.
struct SegFlips {
  bool horizontal = false, vertical = false;
};
SegFlips seg_flips(uint64_t seed, int64_t epoch, int64_t index);
// This rank's samples (positions in the split) of an epoch, in order:
// training shuffles, pads the order by repeating its start to a multiple of
// world_size and takes every world_size-th from `rank` (torch's
// DistributedSampler), so every rank has the same count; validation keeps the
// split's order and takes every world_size-th without padding, so the
// ranks' counts add up to the split's.
std::vector<int64_t> seg_rank_order(int64_t n, const SegLoaderOptions& options, int64_t epoch);

}  // namespace reskit::tasks
