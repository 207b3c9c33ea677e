#include "reskit/tasks/distributed.h"

// c10d declares ProcessGroupGloo only for a LibTorch built with Gloo, which
// Debian's is (the symbols are in libtorch_cpu); the headers it includes
// come from libgloo-dev.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <csignal>
#include <cstdlib>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "reskit/core/error.h"

namespace reskit::tasks {
namespace {

// DDP's bucket for broadcasting parameters and buffers (its _broadcast_bucket_size, 250 MiB).
constexpr double kBroadcastBucketBytes = 250.0 * 1024 * 1024;
// How often each process beats its counter, and how long a failed
// collective watches the counters before naming the ranks that stood still.
constexpr std::chrono::milliseconds kBeatInterval{200};
constexpr std::chrono::milliseconds kLostWindow{1000};

// One line of an exception's text: c10's without its backtrace, Gloo's
// without its "[file.cc:123] " prefix.
std::string message_of(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("] ");
    if (close != std::string::npos) text = text.substr(close + 2);
  }
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

// A whole decimal integer in [lo, hi], or nothing.
std::optional<int64_t> parse_integer(const std::string& text, int64_t lo, int64_t hi) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < lo || value > hi) return std::nullopt;
  return value;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Where Gloo's pairs listen: the interfaces GLOO_SOCKET_IFNAME names (as
// torch.distributed reads it), loopback when the master is on this machine
// only, else the address this host's name resolves to.
std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices(const std::string& master) {
  using c10d::ProcessGroupGloo;
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  if (const std::optional<std::string> names = env("GLOO_SOCKET_IFNAME"); names && !names->empty()) {
    size_t start = 0;
    while (start <= names->size()) {
      const size_t comma = std::min(names->find(',', start), names->size());
      if (comma > start) devices.push_back(ProcessGroupGloo::createDeviceForInterface(names->substr(start, comma - start)));
      start = comma + 1;
    }
    if (!devices.empty()) return devices;
  }
  if (is_loopback(master)) return {ProcessGroupGloo::createDeviceForHostname(master == "::1" ? master : "127.0.0.1")};
  return {ProcessGroupGloo::createDefaultDevice()};
}

// Tensors grouped by dtype and device (in order within a group), each group
// cut into buckets of at most `cap_bytes` (a larger tensor is a bucket alone).
std::vector<std::vector<at::Tensor>> make_buckets(const std::vector<at::Tensor>& tensors, double cap_bytes) {
  std::vector<std::vector<at::Tensor>> groups;
  std::map<std::pair<int, std::string>, size_t> group_of;
  for (const at::Tensor& t : tensors) {
    const auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    auto [it, added] = group_of.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(t);
  }
  std::vector<std::vector<at::Tensor>> buckets;
  for (const auto& group : groups) {
    std::vector<at::Tensor> bucket;
    double bytes = 0;
    for (const at::Tensor& t : group) {
      const double size = static_cast<double>(t.numel()) * static_cast<double>(t.element_size());
      if (!bucket.empty() && bytes + size > cap_bytes) {
        buckets.push_back(std::move(bucket));
        bucket.clear();
        bytes = 0;
      }
      bucket.push_back(t);
      bytes += size;
    }
    if (!bucket.empty()) buckets.push_back(std::move(bucket));
  }
  return buckets;
}

at::Tensor flatten(const std::vector<at::Tensor>& bucket) {
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.size());
  for (const at::Tensor& t : bucket) flat.push_back(t.reshape({-1}));
  return at::cat(flat).to(at::kCPU).contiguous();
}

void unflatten_into(const at::Tensor& flat, const std::vector<at::Tensor>& bucket) {
  int64_t offset = 0;
  for (const at::Tensor& t : bucket) {
    t.copy_(flat.slice(0, offset, offset + t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

// A fingerprint of the tensors' dtypes and shapes (FNV-1a), for the
// check that all ranks hold the same model.
int64_t shapes_fingerprint(const std::vector<at::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ull;
  const auto mix = [&h](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (const at::Tensor& t : tensors) {
    mix(static_cast<int64_t>(t.scalar_type()));
    mix(t.dim());
    for (int64_t s : t.sizes()) mix(s);
  }
  return static_cast<int64_t>(h >> 1);
}

std::vector<at::Tensor> defined(std::vector<at::Tensor> tensors) {
  std::vector<at::Tensor> out;
  for (at::Tensor& t : tensors)
    if (t.defined()) out.push_back(std::move(t));
  return out;
}

}  // namespace

// ---- options ------------------------------------------------------------------

void check_distributed_options(const DistributedOptions& o) {
  if (o.world_size < 1) throw Error("distributed: world_size must be at least 1, got " + std::to_string(o.world_size));
  if (o.rank < 0 || o.rank >= o.world_size)
    throw Error("distributed: rank must be from 0 to " + std::to_string(o.world_size - 1) + " for world_size " +
                std::to_string(o.world_size) + ", got " + std::to_string(o.rank));
  if (o.master_port < 1 || o.master_port > 65535)
    throw Error("distributed: the master port must be from 1 to 65535, got " + std::to_string(o.master_port));
  if (o.master_addr.empty()) throw Error("distributed: the master address is empty");
  if (o.timeout.count() < 1) throw Error("distributed: the timeout must be at least 1 s, got " + std::to_string(o.timeout.count()));
  if (!(o.bucket_cap_mb > 0)) throw Error("distributed: bucket_cap_mb must be positive, got " + std::to_string(o.bucket_cap_mb));
}

DistributedOptions distributed_from_environment() {
  DistributedOptions o;
  const std::optional<std::string> world = env("WORLD_SIZE"), rank = env("RANK");
  if (world) {
    const std::optional<int64_t> w = parse_integer(*world, 1, 1 << 20);
    if (!w) throw Error("WORLD_SIZE must be a positive integer, got '" + *world + "'");
    o.world_size = *w;
  }
  if (rank) {
    const std::optional<int64_t> r = parse_integer(*rank, 0, o.world_size - 1);
    if (!r)
      throw Error("RANK must be an integer from 0 to WORLD_SIZE - 1 (" + std::to_string(o.world_size - 1) + "), got '" +
                  *rank + "'");
    o.rank = *r;
  }
  if (rank && !world) throw Error("RANK is set (" + *rank + ") but WORLD_SIZE is not");
  if (world && !rank && o.world_size > 1) throw Error("WORLD_SIZE is " + *world + " but RANK is not set");
  if (const std::optional<std::string> addr = env("MASTER_ADDR")) {
    if (addr->empty()) throw Error("MASTER_ADDR is set but empty");
    o.master_addr = *addr;
  }
  if (const std::optional<std::string> port = env("MASTER_PORT")) {
    const std::optional<int64_t> p = parse_integer(*port, 1, 65535);
    if (!p) throw Error("MASTER_PORT must be an integer from 1 to 65535, got '" + *port + "'");
    o.master_port = static_cast<int>(*p);
  }
  return o;
}

void set_master(DistributedOptions& o, const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  std::string host = colon == std::string::npos ? "" : host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || colon + 1 >= host_port.size())
    throw Error("--master: expected HOST:PORT, got '" + host_port + "'");
  const std::optional<int64_t> port = parse_integer(host_port.substr(colon + 1), 1, 65535);
  if (!port) throw Error("--master: the port must be an integer from 1 to 65535, got '" + host_port.substr(colon + 1) + "'");
  o.master_addr = host;
  o.master_port = static_cast<int>(*port);
}

std::vector<int64_t> distributed_sampler_indices(int64_t dataset_size, int64_t rank, int64_t world_size, bool shuffle,
                                                 uint64_t seed, int64_t epoch, bool drop_last) {
  if (dataset_size < 0) throw Error("distributed sampler: negative dataset size " + std::to_string(dataset_size));
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw Error("distributed sampler: rank " + std::to_string(rank) + " outside world_size " + std::to_string(world_size));
  // drop_last: floor(n / world), the largest even split; else ceil(n / world).
  const int64_t per_rank = drop_last ? dataset_size / world_size : (dataset_size + world_size - 1) / world_size;
  const int64_t total = per_rank * world_size;
  std::vector<int64_t> order(static_cast<size_t>(dataset_size));
  if (shuffle) {
    at::Generator generator = at::detail::createCPUGenerator(seed + static_cast<uint64_t>(epoch));
    const at::Tensor perm = at::randperm(dataset_size, generator, at::kLong);
    const int64_t* p = perm.data_ptr<int64_t>();
    for (int64_t i = 0; i < dataset_size; ++i) order[static_cast<size_t>(i)] = p[i];
  } else {
    for (int64_t i = 0; i < dataset_size; ++i) order[static_cast<size_t>(i)] = i;
  }
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per_rank));
  for (int64_t i = rank; i < total; i += world_size) mine.push_back(order[static_cast<size_t>(i % dataset_size)]);
  return mine;
}

// ---- the group ----------------------------------------------------------------

struct DataParallel::Group {
  explicit Group(const DistributedOptions& o) : options(o) {
    // A write to a dead peer's socket must become an error, not SIGPIPE's
    // silent exit (Python ignores SIGPIPE for torch.distributed the same way).
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);

    const std::string where = o.master_addr + ":" + std::to_string(o.master_port);
    const std::string who = "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size);
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(o.master_port);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<size_t>(o.world_size);
      so.waitWorkers = true;
      so.timeout = o.timeout;
      store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    } catch (const std::exception& e) {
      throw Error("distributed: rendezvous at " + where + " failed (" + who + "): " + message_of(e));
    }
    try {
      auto pg_options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      pg_options->devices = gloo_devices(o.master_addr);
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store),
                                                       static_cast<int>(o.rank), static_cast<int>(o.world_size),
                                                       pg_options);
    } catch (const std::exception& e) {
      throw Error("distributed: joining the Gloo group at " + where + " failed (" + who + "): " + message_of(e));
    }
    heartbeat = std::thread([this] { beat(); });
  }

  ~Group() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    heartbeat.join();
  }

  static std::string alive_key(int64_t rank) { return "reskit/alive/" + std::to_string(rank); }

  // The heartbeat thread. A store that went away (rank 0 ended) ends it quietly.
  void beat() {
    const std::string key = alive_key(options.rank);
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      lock.unlock();
      try {
        store->add(key, 1);
      } catch (...) {
        return;
      }
      lock.lock();
      wake.wait_for(lock, kBeatInterval, [this] { return stopping; });
    }
  }

  // The ranks whose heartbeat stood still for kLostWindow; the store itself
  // gone means rank 0, which serves it, is.
  std::vector<int64_t> lost_ranks() {
    const auto read = [this] {
      std::vector<int64_t> beats;
      for (int64_t r = 0; r < options.world_size; ++r) beats.push_back(store->add(alive_key(r), 0));
      return beats;
    };
    try {
      const std::vector<int64_t> before = read();
      std::this_thread::sleep_for(kLostWindow);
      const std::vector<int64_t> after = read();
      std::vector<int64_t> lost;
      for (int64_t r = 0; r < options.world_size; ++r)
        if (r != options.rank && before[static_cast<size_t>(r)] == after[static_cast<size_t>(r)]) lost.push_back(r);
      return lost;
    } catch (...) {
      return {0};
    }
  }

  std::string failure_message(const char* what, const std::string& detail) {
    const std::vector<int64_t> lost = lost_ranks();
    if (lost.empty())
      return std::string("distributed: ") + what + " failed on rank " + std::to_string(options.rank) +
             " with every rank alive (timeout " + std::to_string(options.timeout.count()) + " s): " + detail;
    std::string ranks;
    for (int64_t r : lost) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    return (lost.size() == 1 ? "rank " : "ranks ") + ranks + " lost: " + detail + " (in " + what + " on rank " +
           std::to_string(options.rank) + ")";
  }

  // Runs one collective to completion. After a failure the group is
  // unusable (Gloo's pairs are closed), so every later call fails the same way.
  void run(const char* what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) {
    if (!failure.empty()) throw Error(failure);
    try {
      start()->wait();
    } catch (const std::exception& e) {
      failure = failure_message(what, message_of(e));
      throw Error(failure);
    }
  }

  void all_reduce(at::Tensor& cpu_tensor, const char* what = "all-reduce") {
    std::vector<at::Tensor> tensors = {cpu_tensor};
    run(what, [&] { return pg->allreduce(tensors); });
  }

  void broadcast_from_0(at::Tensor& cpu_tensor) {
    std::vector<at::Tensor> tensors = {cpu_tensor};
    c10d::BroadcastOptions bo;
    bo.rootRank = 0;
    run("broadcast", [&] { return pg->broadcast(tensors, bo); });
  }

  void broadcast_tensors(const std::vector<at::Tensor>& tensors, double cap_bytes) {
    at::NoGradGuard no_grad;
    for (const auto& bucket : make_buckets(tensors, cap_bytes)) {
      at::Tensor flat = flatten(bucket);
      broadcast_from_0(flat);
      if (options.rank != 0) unflatten_into(flat, bucket);
    }
  }

  DistributedOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::string failure;

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread heartbeat;  // last: it starts once the rest exists
};

namespace {

class GroupBatchStatsReducer : public layers::BatchStatsReducer {
 public:
  explicit GroupBatchStatsReducer(std::shared_ptr<DataParallel::Group> group) : group_(std::move(group)) {}
  void all_reduce_sum(const at::Tensor& tensor) override {
    at::Tensor cpu = tensor.to(at::kCPU).contiguous();
    group_->all_reduce(cpu, "sync-BN all-reduce");
    if (!cpu.is_same(tensor)) tensor.copy_(cpu);
  }

 private:
  std::shared_ptr<DataParallel::Group> group_;
};

}  // namespace

// ---- DataParallel -------------------------------------------------------------

DataParallel::DataParallel(const DistributedOptions& options) : options_(options) {
  check_distributed_options(options_);
  if (options_.world_size > 1) group_ = std::make_shared<Group>(options_);
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast_parameters_and_buffers(torch::nn::Module& module) {
  if (!group_) return;
  std::vector<at::Tensor> tensors = defined(module.parameters());
  for (at::Tensor& b : defined(module.buffers())) tensors.push_back(b);
  // DDP's _verify_param_shape_across_processes: rank 0's fingerprint to all,
  // and whether any rank differs back to all, so that every rank stops alike.
  int64_t numel = 0;
  for (const at::Tensor& t : tensors) numel += t.numel();
  at::Tensor mine = at::tensor({static_cast<int64_t>(tensors.size()), numel, shapes_fingerprint(tensors)}, at::kLong);
  at::Tensor rank0 = mine.clone();
  group_->broadcast_from_0(rank0);
  at::Tensor differs = at::tensor({static_cast<int64_t>(!at::equal(mine, rank0))}, at::kLong);
  group_->all_reduce(differs);
  if (differs.item<int64_t>() > 0) {
    const std::string theirs = std::to_string(rank0[0].item<int64_t>()) + " parameters and buffers of " +
                               std::to_string(rank0[1].item<int64_t>()) + " values";
    if (at::equal(mine, rank0))
      throw Error("distributed: another rank's model differs from rank 0's (" + theirs + ")");
    throw Error("distributed: rank " + std::to_string(options_.rank) + "'s model differs from rank 0's (" +
                std::to_string(tensors.size()) + " parameters and buffers of " + std::to_string(numel) +
                " values against " + theirs + ")");
  }
  group_->broadcast_tensors(tensors, kBroadcastBucketBytes);
}

void DataParallel::broadcast_buffers(torch::nn::Module& module) {
  if (!group_) return;
  const std::vector<at::Tensor> buffers = defined(module.buffers());
  if (!buffers.empty()) group_->broadcast_tensors(buffers, kBroadcastBucketBytes);
}

void DataParallel::average_gradients(const std::vector<at::Tensor>& parameters) {
  if (!group_ || parameters.empty()) return;
  at::NoGradGuard no_grad;
  // Which ranks have each gradient: unused everywhere stays undefined, unused
  // somewhere counts as zeros there (DDP's find_unused_parameters rule).
  at::Tensor used = at::zeros({static_cast<int64_t>(parameters.size())}, at::kInt);
  for (size_t i = 0; i < parameters.size(); ++i) used[static_cast<int64_t>(i)] = parameters[i].grad().defined() ? 1 : 0;
  group_->all_reduce(used, "all-reduce of the gradients' use");
  const int* users = used.data_ptr<int>();
  std::vector<at::Tensor> grads;
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (users[i] == 0) continue;
    at::Tensor p = parameters[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    if (p.grad().layout() != at::kStrided) throw Error("distributed: sparse gradients are not supported");
    grads.push_back(p.grad());
  }
  const double divisor = static_cast<double>(options_.world_size);
  for (const auto& bucket : make_buckets(grads, options_.bucket_cap_mb * 1024 * 1024)) {
    at::Tensor flat = flatten(bucket);
    group_->all_reduce(flat, "gradient all-reduce");
    flat.div_(divisor);
    unflatten_into(flat, bucket);
  }
}

void DataParallel::all_reduce_sum(const at::Tensor& tensor) {
  if (!group_) return;
  at::NoGradGuard no_grad;
  at::Tensor cpu = tensor.to(at::kCPU).contiguous();
  group_->all_reduce(cpu);
  if (!cpu.is_same(tensor)) tensor.copy_(cpu);
}

void DataParallel::barrier() {
  if (!group_) return;
  group_->run("barrier", [this] { return group_->pg->barrier(); });
}

std::shared_ptr<layers::BatchStatsReducer> DataParallel::batch_stats_reducer() const {
  if (!group_ || !options_.sync_bn) return nullptr;
  return std::make_shared<GroupBatchStatsReducer>(group_);
}

}  // namespace reskit::tasks
