#pragma once
// Data-parallel training over PyTorch's own distributed engine: c10d's
// TCPStore (the rendezvous, served by rank 0) and ProcessGroupGloo (the
// collectives), as torch.distributed with the gloo backend and
// DistributedDataParallel use them. Each process trains a replica on its
// shard of the data; DataParallel makes the replicas start equal, keeps
// BatchNorm's buffers equal (rank 0's, before each forward) and averages the
// gradients after each backward, so all replicas take the same steps.
//
// A peer that dies or stops makes every collective fail within the timeout
// with a one-line reskit::Error ("rank 1 lost: ..."), never a hang: each
// process beats a counter in the store, and a failed collective names the
// ranks whose counter stood still.
//
// With world_size 1 everything is a no-op and no c10d object exists.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reskit/layers/batch_norm.h"

namespace reskit::tasks {

struct DistributedOptions {
  int64_t rank = 0, world_size = 1;
  std::string master_addr = "127.0.0.1";  // where rank 0 serves the store
  int master_port = 29500;                 // torch.distributed's default
  bool sync_bn = false;                    // batch statistics over all ranks (SyncBatchNorm)
  // How long a collective or the rendezvous waits for a peer before failing
  // (torch.distributed's default is 30 min; a peer that dies is seen at once).
  std::chrono::seconds timeout{1800};
  double bucket_cap_mb = 25;  // DDP's bucket_cap_mb: gradients are all-reduced in buckets of this size
};

// torchrun's variables: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (each
// optional; unset keeps the default). A malformed or inconsistent value is a
// one-line reskit::Error naming the variable.
DistributedOptions distributed_from_environment();
// --master HOST:PORT ("[::1]:29500" for IPv6).
void set_master(DistributedOptions& options, const std::string& host_port);
// Throws a one-line reskit::Error for a rank outside [0, world_size), a
// world_size below 1, a port outside 1..65535, an empty address, a
// non-positive timeout or bucket size.
void check_distributed_options(const DistributedOptions& options);

// torch.utils.data.DistributedSampler's indices for `rank`: the dataset's
// order (with `shuffle`: torch.randperm under the seed `seed + epoch`, so
// every rank draws the same permutation), padded by wrapping around to a
// multiple of world_size (or, with drop_last, cut to one), then every
// world_size-th index from `rank` on. Every rank gets the same count.
std::vector<int64_t> distributed_sampler_indices(int64_t dataset_size, int64_t rank, int64_t world_size, bool shuffle,
                                                 uint64_t seed, int64_t epoch, bool drop_last = false);

class DataParallel {
 public:
  // Joins the group: rank 0 serves the store at master_addr:master_port and
  // waits (up to the timeout) for the others. Throws reskit::Error when the
  // rendezvous fails.
  explicit DataParallel(const DistributedOptions& options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  // Rank 0: the one process that writes checkpoints, metrics and logs.
  bool is_main() const { return options_.rank == 0; }
  // Whether there is more than one process (and so a process group).
  bool active() const { return group_ != nullptr; }

  // DDP's construction: rank 0's parameters and buffers are copied to every
  // rank, after checking that all ranks hold the same shapes.
  void broadcast_parameters_and_buffers(torch::nn::Module& module);
  // DDP's broadcast_buffers=True before each forward: rank 0's buffers
  // (BatchNorm's running statistics) to every rank.
  void broadcast_buffers(torch::nn::Module& module);
  // After backward, before the optimiser step: each parameter's gradient
  // becomes the mean over the ranks, all-reduced in buckets of
  // bucket_cap_mb. Every rank passes the same parameters in the same order.
  // A gradient undefined on every rank stays undefined (the parameter was
  // not used, as backbone.fc in EncNet); undefined on some ranks only, it
  // counts as zeros there, as DDP counts it.
  void average_gradients(const std::vector<at::Tensor>& parameters);
  // Sums `tensor` element-wise over the ranks, in place (a confusion
  // matrix, a loss sum, a pixel count).
  void all_reduce_sum(const at::Tensor& tensor);
  void barrier();
  // With sync_bn and more than one process: the reducer to install around
  // each training forward (layers::SyncBatchNormScope), else nullptr.
  std::shared_ptr<layers::BatchStatsReducer> batch_stats_reducer() const;

  struct Group;  // the c10d objects and the heartbeat (distributed.cpp)

 private:
  DistributedOptions options_;
  std::shared_ptr<Group> group_;
};

}  // namespace reskit::tasks
